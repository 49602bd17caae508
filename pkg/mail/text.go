package mail

import (
	"strconv"
	"strings"
	"time"
)

// The subjects and plain-text bodies, in plain Go. A body is a list of
// paragraphs joined by blank lines; Render adds the "--" footer and tidies
// the result (trailing spaces, repeated blank lines).

const defaultTextFooter = "Sent by Steward. If you did not expect this email, you can ignore it."

// paragraphs joins the non-empty paragraphs with blank lines.
func paragraphs(ps ...string) string {
	var b strings.Builder
	for _, p := range ps {
		if p == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(p)
	}
	return b.String()
}

// when returns s if cond holds, else "".
func when(cond bool, s string) string {
	if cond {
		return s
	}
	return ""
}

// prefixed returns prefix+s, or "" when s is empty.
func prefixed(prefix, s string) string {
	if s == "" {
		return ""
	}
	return prefix + s
}

func (d VerifyEmailData) subject() string {
	if d.Existing {
		return "You already have a Steward sign-in"
	}
	return "Verify your email address"
}

func (d VerifyEmailData) text() (string, string) {
	if d.Existing {
		return paragraphs(
			greeting(d.Name),
			"Someone, hopefully you, asked for "+d.what()+" on Steward with this email address, which already has a Steward sign-in.",
			"To sign in, use this email address and your password as usual. If you forgot your password, ask for a password reset on the sign-in page.",
			"To go ahead with "+d.what()+", open this link and confirm with your Steward password:",
			d.Link,
			when(!d.ExpiresAt.IsZero(), "The link expires on "+datetime(d.ExpiresAt)+"."),
			"If it was not you, ignore this email: nothing changes.",
		), ""
	}
	if d.AccountName != "" {
		return paragraphs(
			greeting(d.Name),
			"Please confirm that this is your email address to finish "+d.what()+": open this link and give the password you chose.",
			d.Link,
			when(!d.ExpiresAt.IsZero(), "The link expires on "+datetime(d.ExpiresAt)+"."),
			"If you did not sign up for Steward, ignore this email and nothing will happen.",
		), ""
	}
	return paragraphs(
		greeting(d.Name),
		"Please confirm that this is your email address by opening this link:",
		d.Link,
		when(!d.ExpiresAt.IsZero(), "The link expires on "+datetime(d.ExpiresAt)+"."),
		"If you did not sign up for Steward, ignore this email and nothing will happen.",
	), ""
}

func (d PasswordResetData) subject() string { return "Reset your Steward password" }

func (d PasswordResetData) text() (string, string) {
	works := "The link works once."
	if !d.ExpiresAt.IsZero() {
		works = "The link expires on " + datetime(d.ExpiresAt) + " and works once."
	}
	return paragraphs(
		greeting(d.Name),
		"Someone asked to reset the password for this email address. To choose a new password, open this link:",
		d.Link,
		works,
		"If you did not ask for this, ignore this email: your password stays as it is.",
	), ""
}

func (d InvitationData) subject() string {
	return d.InviterName + " invited you to " + d.AccountName + " on Steward"
}

func (d InvitationData) text() (string, string) {
	return paragraphs(
		greeting(d.Name),
		d.InviterName+" invited you to join "+d.AccountName+" on Steward. To accept, open this link:",
		d.Link,
		when(!d.ExpiresAt.IsZero(), "The invitation expires on "+datetime(d.ExpiresAt)+"."),
		"If you do not know "+d.InviterName+" or did not expect this, ignore this email.",
	), ""
}

func (d ApprovalRequestData) subject() string {
	var prefix string
	switch d.Reason {
	case ReasonReminder:
		prefix = "Reminder: "
	case ReasonEscalation:
		prefix = "Escalated: "
	}
	if d.OnBehalfOf != "" {
		return prefix + "Approval needed on behalf of " + d.OnBehalfOf + ": " + d.DocumentTitle + " (" + money(d.Amount, d.Currency) + ")"
	}
	return prefix + "Approval needed: " + d.DocumentTitle + " (" + money(d.Amount, d.Currency) + ")"
}

// reasonText is the sentence that says why a reminder or an escalation's
// email comes (empty for the first ask).
func (d ApprovalRequestData) reasonText() string {
	switch d.Reason {
	case ReasonReminder:
		return "A reminder: this request still waits for your decision."
	case ReasonEscalation:
		return "This request was escalated to you: it was not decided in time."
	}
	return ""
}

// asks is who asks whose approval: the recipient's own, or that of the
// approver they stand in for.
func (d ApprovalRequestData) asks() string {
	if d.OnBehalfOf != "" {
		return d.RequesterName + " asks for the approval of " + d.OnBehalfOf + ", whom you stand in for while they are away (you decide on their behalf)"
	}
	return d.RequesterName + " asks for your approval"
}

func (d ApprovalRequestData) text() (string, string) {
	return paragraphs(
		greeting(d.ApproverName),
		d.reasonText(),
		d.asks()+prefixed(" in ", d.AccountName)+":",
		"  "+docType(d.DocumentType)+": "+d.DocumentTitle+
			"\n  Amount: "+money(d.Amount, d.Currency)+
			prefixed("\n  Store: ", d.StoreName)+
			prefixed("\n  Department: ", d.DepartmentName)+
			prefixed("\n  Supplier: ", d.SupplierName)+
			"\n  Requested by: "+d.RequesterName,
		prefixed("Note from "+d.RequesterName+":\n", d.Note),
		"Review it and approve or deny on this page (opening it decides nothing):",
		d.ApproveLink,
		when(!d.ExpiresAt.IsZero(), "The request expires on "+datetime(d.ExpiresAt)+"."),
	), ""
}

// outcomeWord is "approved", "denied" or "expired".
func (d ApprovalOutcomeData) outcomeWord() string {
	switch d.Outcome {
	case OutcomeApproved:
		return "approved"
	case OutcomeDenied:
		return "denied"
	}
	return "expired"
}

func (d ApprovalOutcomeData) subject() string {
	w := d.outcomeWord()
	return strings.ToUpper(w[:1]) + w[1:] + ": " + d.DocumentTitle
}

func (d ApprovalOutcomeData) text() (string, string) {
	sentence := "Your approval request expired before anyone decided."
	if d.Outcome == OutcomeApproved || d.Outcome == OutcomeDenied {
		sentence = "Your approval request was " + d.outcomeWord() + prefixed(" by ", d.DeciderName) + "."
	}
	amount := ""
	if d.Amount != "" {
		amount = "\n  Amount: " + money(d.Amount, d.Currency)
	}
	return paragraphs(
		greeting(d.RequesterName),
		sentence,
		"  "+docType(d.DocumentType)+": "+d.DocumentTitle+amount,
		prefixed("Comment:\n", d.Comment),
		when(d.Link != "", "Open it in Steward:"),
		d.Link,
	), ""
}

func (d AlertDigestData) subject() string {
	n := d.Items()
	return d.AccountName + ": " + strconv.Itoa(n) + " " + plural(n, "alert", "alerts") + " " + plural(n, "needs", "need") + " your attention"
}

func (d AlertDigestData) text() (string, string) {
	ps := []string{greeting(d.Name), "Here is what needs attention in " + d.AccountName + "."}
	for _, s := range d.Stores {
		ps = append(ps, "== "+s.StoreName+" ==")
		if len(s.LowStock) > 0 {
			var b strings.Builder
			b.WriteString("Low stock:")
			for _, it := range s.LowStock {
				b.WriteString("\n  - " + it.Name + prefixed(" (", it.SKU) + when(it.SKU != "", ")") +
					": " + qty(it.OnHand) + " on hand, threshold " + qty(it.Threshold))
			}
			ps = append(ps, b.String())
		}
		ps = append(ps, dueText("Purchase orders due:", s.DuePurchaseOrders), dueText("Sales orders due:", s.DueSalesOrders), dueText("Payments due:", s.PaymentReminders))
		if len(s.ApprovalReminders) > 0 {
			var b strings.Builder
			b.WriteString("Waiting for your approval:")
			for _, r := range s.ApprovalReminders {
				b.WriteString("\n  - " + r.DocumentTitle + amountSuffix(r.Amount, r.Currency) +
					", requested by " + r.RequesterName + " on " + date(r.RequestedAt) + prefixed("\n    ", r.Link))
			}
			ps = append(ps, b.String())
		}
	}
	footer := "You receive these alerts as a member of " + d.AccountName + ".\nUnsubscribe: " + d.UnsubscribeLink +
		prefixed("\nNotification settings: ", d.PreferencesLink)
	return paragraphs(ps...), footer
}

// amountSuffix is ", 12.00 EUR", or "" without an amount.
func amountSuffix(amount, currency string) string {
	if amount == "" {
		return ""
	}
	return ", " + money(amount, currency)
}

// dueText lists due documents under title, or gives "" for none.
func dueText(title string, docs []DueDocument) string {
	if len(docs) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(title)
	for _, d := range docs {
		when := "due "
		if d.Overdue {
			when = "OVERDUE since "
		}
		b.WriteString("\n  - " + d.Title + prefixed(", ", d.Counterparty) + amountSuffix(d.Amount, d.Currency) +
			": " + when + date(d.DueDate) + prefixed("\n    ", d.Link))
	}
	return b.String()
}

func (d WebhookDisabledData) subject() string {
	return "Webhook deliveries to " + d.AccountName + "'s endpoint stopped"
}

func (d WebhookDisabledData) text() (string, string) {
	return paragraphs(
		greeting(d.Name),
		"Steward disabled a webhook endpoint of "+d.AccountName+" because every delivery to it failed"+d.since()+":",
		d.URL+when(d.Description != "", " ("+d.Description+")"),
		"No events are sent to it now. Once the endpoint answers again, re-enable it (PATCH /v1/webhooks/{id} with status active) and replay what it missed (POST /v1/webhooks/{id}/replay).",
	), ""
}

// since is " since <time>", or "" when the time is unknown.
func (d WebhookDisabledData) since() string {
	return when(!d.FailingSince.IsZero(), " since "+datetime(d.FailingSince))
}

func (d GrantExpiryData) subject() string {
	return "Access expires on " + datetime(d.ExpiresAt) + ": " + d.Role + " at " + d.Scope
}

func (d GrantExpiryData) who() string {
	if d.MemberName == "" {
		return "A member's"
	}
	return d.MemberName + "'s"
}

func (d GrantExpiryData) text() (string, string) {
	return paragraphs(
		"Hello,",
		d.who()+" role "+d.Role+" at "+d.Scope+" in "+d.AccountName+" expires on "+datetime(d.ExpiresAt)+". From then on it grants nothing.",
		"To keep this access, ask for a renewal:",
		d.RenewLink,
		"If the access is no longer needed, nothing needs to be done.",
	), ""
}

func (d AccessRequestData) subject() string {
	if d.OnBehalfOf != "" {
		return "Access requested (on behalf of " + d.OnBehalfOf + "): " + d.Role + " at " + d.Scope + " for " + d.RequesterName
	}
	return "Access requested: " + d.Role + " at " + d.Scope + " for " + d.RequesterName
}

// until is how long the grant would last, for a sentence.
func until(t time.Time) string {
	if t.IsZero() {
		return "with no end date"
	}
	return "until " + datetime(t)
}

func (d AccessRequestData) text() (string, string) {
	return paragraphs(
		greeting(d.ApproverName),
		d.RequesterName+" asks for the role "+d.Role+" at "+d.Scope+prefixed(" in ", d.AccountName)+", "+until(d.GrantExpiresAt)+".",
		prefixed("You stand in for ", d.OnBehalfOf)+when(d.OnBehalfOf != "", " while they are away: you decide on their behalf, with their authority."),
		prefixed("Reason from "+d.RequesterName+":\n", d.Reason),
		"Review it and approve or deny on this page (opening it decides nothing):",
		d.DecideLink,
		when(!d.ExpiresAt.IsZero(), "The request expires on "+datetime(d.ExpiresAt)+"."),
	), ""
}

// outcomeWord is "approved", "denied" or "expired".
func (d AccessOutcomeData) outcomeWord() string {
	return ApprovalOutcomeData{Outcome: d.Outcome}.outcomeWord()
}

func (d AccessOutcomeData) subject() string {
	w := d.outcomeWord()
	return "Access request " + w + ": " + d.Role + " at " + d.Scope
}

func (d AccessOutcomeData) sentence() string {
	switch d.Outcome {
	case OutcomeApproved:
		return "Your request for the role " + d.Role + " at " + d.Scope + " was approved" + prefixed(" by ", d.DeciderName) + ". You hold it now, " + until(d.GrantExpiresAt) + "."
	case OutcomeDenied:
		return "Your request for the role " + d.Role + " at " + d.Scope + " was denied" + prefixed(" by ", d.DeciderName) + "."
	}
	return "Your request for the role " + d.Role + " at " + d.Scope + " expired before anyone decided."
}

func (d AccessOutcomeData) text() (string, string) {
	return paragraphs(
		greeting(d.RequesterName),
		d.sentence(),
		prefixed("Comment:\n", d.Comment),
	), ""
}

// Package mail composes and sends Steward's emails.
//
// A Message is plain data (recipients, subject, text and HTML bodies,
// custom headers, tags). Validate rejects anything that could smuggle a
// header into the email (CR or LF in a subject, name, address or header)
// and anything SES would refuse, before any request leaves the process.
// SES sends a Message through SES v2 SendEmail with Simple content; Render
// fills the templates (verify_email, password_reset, invitation,
// approval_request, also a reminder or an escalation by its Reason,
// approval_outcome, alert_digest) into a subject, a text
// body (plain Go, text.go) and an HTML body (templ components, *.templ,
// generated into *_templ.go by templ v0.3.960); Outbox makes sending idempotent so that a retried
// Lambda or workflow step sends no second email.
//
// Email bodies, links and header values carry one-time tokens: this
// package never logs them, and its errors never quote them.
package mail

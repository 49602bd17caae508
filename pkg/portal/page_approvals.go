package portal

import "strconv"

// The data of the approvals and access pages.
type (
	approvalsData struct {
		Waiting, Mine []approvalRow
		MayManage     bool
	}
	approvalRow struct {
		ID, Title, DocType, Amount, Requester, Status, Created, Level string
		// Decide: the member may decide it now, for themselves or (when
		// OnBehalfOf is set) for the member they stand in for.
		Decide                   bool
		OnBehalfOf, OnBehalfName string
		Cancel                   bool
	}
	approvalDetail struct {
		approvalRow
		DocID, Store, Department, Supplier, Note string
		Summary, DueDate, URL, External          string
		Levels                                   []levelRow
		Asked                                    []askedRow
		Decisions                                []decisionRow
	}
	levelRow struct{ Level, MinAmount, Who, Required, Scope string }
	askedRow struct {
		Level, Name         string
		External, Escalated bool
	}
	decisionRow struct {
		Level, Name, Decision, Comment, At string
		ByLink                             bool
	}
	policiesData struct {
		Policies  []policyRow
		MayManage bool
	}
	policyRow struct {
		DocType, Label, Levels, Expires string
		Enabled                         bool
	}
	policyData struct {
		DocType, Version                       string
		Enabled, SelfApproval, ExternalAllowed bool
		ExternalDomains, ExpiresAfterHours     string
		Levels                                 []levelForm
		Roles                                  []roleOption
		MayManage                              bool
		Errors                                 fieldErrors
	}
	levelForm struct {
		Index                                                                      int
		MinAmount, Required, Role, Permission, Scope, Remind, Escalate, EscalateTo string
		New                                                                        bool
	}
	accessData struct {
		Decide, Mine                   []accessRow
		MayRequest                     bool
		Roles                          []roleOption
		Scopes                         []scopeOption
		Role, Scope, Reason, ExpiresAt string
		Errors                         fieldErrors
		Delegation                     *delegationRow
		PickDelegate                   bool
		Delegates                      []option
		DelegateID, From, Until, Note  string
		DelegationErrors               fieldErrors
	}
	accessRow struct {
		ID, Requester, Role, Scope, Reason, Status, Until, DecideBy string
		Decide                                                      bool
		OnBehalfOf, OnBehalfName                                    string
		Cancel                                                      bool
	}
	delegationRow struct {
		Delegate, From, Until, Note string
		Active                      bool
	}
)

func (l levelForm) name(field string) string { return levelField(l.Index, field) }

func (l levelForm) number() string { return strconv.Itoa(l.Index + 1) }

func rowID(prefix, id string) string { return prefix + "-" + id }

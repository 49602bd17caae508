package store

// The table definition lives here, in plain Go, so that the CDK app
// (infra/cdk) and the local stack (table creation in DynamoDB Local) build
// the same table from one description.

// Index is a global secondary index. Every index projects all attributes.
type Index struct {
	Name         string
	PartitionKey string
	SortKey      string
}

// TableDefinition describes the single Steward table.
type TableDefinition struct {
	PartitionKey string
	SortKey      string
	Indexes      []Index
	TTLAttribute string
	// Stream says the table keeps a stream of new item images (DynamoDB
	// Streams, NEW_IMAGE): the change events' pipeline reads the audit
	// items from it (pkg/events).
	Stream bool
}

// Attribute names of the keys and indexes. Every key attribute is a string.
const (
	AttrPK     = "pk"
	AttrSK     = "sk"
	AttrGSI1PK = "gsi1pk"
	AttrGSI1SK = "gsi1sk"
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	AttrGSI3PK = "gsi3pk"
	AttrGSI3SK = "gsi3sk"
	AttrTTL    = "ttl"
)

// Index names.
const (
	// IndexGSI1 is the inverted lookup index: an item is found by something
	// other than its owner (an identity's memberships, a token's owner,
	// the approval requests a member made).
	IndexGSI1 = "gsi1"
	// IndexGSI2 lists items of an account by a secondary order (status,
	// time, actor, target): approval requests by status.
	IndexGSI2 = "gsi2"
	// IndexGSI3 is sparse: only items that need attention carry its keys
	// (stock below its threshold, open documents with a due date), so the
	// scheduled jobs read them without scanning.
	IndexGSI3 = "gsi3"
)

// Definition is the one table definition.
var Definition = TableDefinition{
	PartitionKey: AttrPK,
	SortKey:      AttrSK,
	Indexes: []Index{
		{Name: IndexGSI1, PartitionKey: AttrGSI1PK, SortKey: AttrGSI1SK},
		{Name: IndexGSI2, PartitionKey: AttrGSI2PK, SortKey: AttrGSI2SK},
		{Name: IndexGSI3, PartitionKey: AttrGSI3PK, SortKey: AttrGSI3SK},
	},
	TTLAttribute: AttrTTL,
	Stream:       true,
}

// AuditItemType is the value of the type attribute of audit items: the
// stream's consumers keep only those (an event source filter in AWS).
const AuditItemType = typeAudit

// KeyAttributes lists every attribute that is a key of the table or of an
// index, in a stable order. All are strings.
func (d TableDefinition) KeyAttributes() []string {
	out := []string{d.PartitionKey, d.SortKey}
	for _, ix := range d.Indexes {
		out = append(out, ix.PartitionKey, ix.SortKey)
	}
	return out
}

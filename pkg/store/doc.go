// Package store owns Steward's single DynamoDB table: the table definition,
// every key format and attribute name, the item codecs, conditional writes,
// transactions that carry their audit event, and opaque pagination cursors.
// No other package spells a key.
package store

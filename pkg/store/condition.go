package store

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ConditionError is a failed condition, in a plain conditional write or in a
// transaction. It wraps the domain error the caller attached to the write
// (or ErrConditionFailed when none), so callers test it with errors.Is
// against their own sentinel.
type ConditionError struct {
	// Index is the position of the failed item in the transaction, or -1
	// for a plain write.
	Index int
	// Item is the item as it was, when DynamoDB returned it.
	Item map[string]types.AttributeValue
	// Err is the domain error attached to the write.
	Err error
}

func (e *ConditionError) Error() string {
	if e.Index >= 0 {
		return fmt.Sprintf("condition failed on transaction item %d: %v", e.Index, e.Err)
	}
	return fmt.Sprintf("condition failed: %v", e.Err)
}

// Unwrap returns both the domain error and ErrConditionFailed, so that
// errors.Is matches either.
func (e *ConditionError) Unwrap() []error {
	if e.Err == nil || e.Err == ErrConditionFailed {
		return []error{ErrConditionFailed}
	}
	return []error{e.Err, ErrConditionFailed}
}

// conditionFailed recognises a failed condition in err, from a plain write
// (ConditionalCheckFailedException) or a transaction
// (TransactionCanceledException with a ConditionalCheckFailed reason). For
// a transaction, onFail[i] is the domain error of item i. It returns nil
// when err is not a failed condition.
func conditionFailed(err error, onFail []error) *ConditionError {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var domain error
		if len(onFail) == 1 {
			domain = onFail[0]
		}
		return &ConditionError{Index: -1, Item: ccf.Item, Err: orCondition(domain)}
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for i, reason := range tce.CancellationReasons {
			if reason.Code != nil && *reason.Code == "ConditionalCheckFailed" {
				var domain error
				if i < len(onFail) {
					domain = onFail[i]
				}
				return &ConditionError{Index: i, Item: reason.Item, Err: orCondition(domain)}
			}
		}
	}
	return nil
}

func orCondition(err error) error {
	if err == nil {
		return ErrConditionFailed
	}
	return err
}

// IsConditionFailed reports whether err is a failed condition, from a plain
// write or a transaction.
func IsConditionFailed(err error) bool {
	return errors.Is(err, ErrConditionFailed) || conditionFailed(err, nil) != nil
}

// mapWriteError turns a failed condition into a *ConditionError carrying
// the domain error, and wraps anything else with op.
func mapWriteError(op string, err error, onFail []error) error {
	if err == nil {
		return nil
	}
	if ce := conditionFailed(err, onFail); ce != nil {
		return ce
	}
	return fmt.Errorf("%s: %w", op, err)
}

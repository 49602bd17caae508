package eventpublisher

import (
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// A stream record's new image comes as the Lambda event's attribute
// values (aws-lambda-go); it is converted to the DynamoDB client's, which
// store.AuditFromImage reads.

// ImageFromLambda converts a Lambda stream record's image.
func ImageFromLambda(img map[string]events.DynamoDBAttributeValue) (map[string]dtypes.AttributeValue, error) {
	out := make(map[string]dtypes.AttributeValue, len(img))
	for k, v := range img {
		av, err := fromLambda(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromLambda(v events.DynamoDBAttributeValue) (dtypes.AttributeValue, error) {
	switch v.DataType() {
	case events.DataTypeString:
		return &dtypes.AttributeValueMemberS{Value: v.String()}, nil
	case events.DataTypeNumber:
		return &dtypes.AttributeValueMemberN{Value: v.Number()}, nil
	case events.DataTypeBinary:
		return &dtypes.AttributeValueMemberB{Value: v.Binary()}, nil
	case events.DataTypeBoolean:
		return &dtypes.AttributeValueMemberBOOL{Value: v.Boolean()}, nil
	case events.DataTypeNull:
		return &dtypes.AttributeValueMemberNULL{Value: true}, nil
	case events.DataTypeStringSet:
		return &dtypes.AttributeValueMemberSS{Value: v.StringSet()}, nil
	case events.DataTypeNumberSet:
		return &dtypes.AttributeValueMemberNS{Value: v.NumberSet()}, nil
	case events.DataTypeBinarySet:
		return &dtypes.AttributeValueMemberBS{Value: v.BinarySet()}, nil
	case events.DataTypeList:
		l := v.List()
		out := make([]dtypes.AttributeValue, 0, len(l))
		for _, x := range l {
			av, err := fromLambda(x)
			if err != nil {
				return nil, err
			}
			out = append(out, av)
		}
		return &dtypes.AttributeValueMemberL{Value: out}, nil
	case events.DataTypeMap:
		m, err := ImageFromLambda(v.Map())
		if err != nil {
			return nil, err
		}
		return &dtypes.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute type %d", v.DataType())
}

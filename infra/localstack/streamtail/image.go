package streamtail

import (
	"fmt"

	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"
)

// ImageFromStreams converts a DynamoDB Streams API record's image.
func ImageFromStreams(img map[string]stypes.AttributeValue) (map[string]dtypes.AttributeValue, error) {
	out := make(map[string]dtypes.AttributeValue, len(img))
	for k, v := range img {
		av, err := fromStreams(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		out[k] = av
	}
	return out, nil
}

func fromStreams(v stypes.AttributeValue) (dtypes.AttributeValue, error) {
	switch t := v.(type) {
	case *stypes.AttributeValueMemberS:
		return &dtypes.AttributeValueMemberS{Value: t.Value}, nil
	case *stypes.AttributeValueMemberN:
		return &dtypes.AttributeValueMemberN{Value: t.Value}, nil
	case *stypes.AttributeValueMemberB:
		return &dtypes.AttributeValueMemberB{Value: t.Value}, nil
	case *stypes.AttributeValueMemberBOOL:
		return &dtypes.AttributeValueMemberBOOL{Value: t.Value}, nil
	case *stypes.AttributeValueMemberNULL:
		return &dtypes.AttributeValueMemberNULL{Value: t.Value}, nil
	case *stypes.AttributeValueMemberSS:
		return &dtypes.AttributeValueMemberSS{Value: t.Value}, nil
	case *stypes.AttributeValueMemberNS:
		return &dtypes.AttributeValueMemberNS{Value: t.Value}, nil
	case *stypes.AttributeValueMemberBS:
		return &dtypes.AttributeValueMemberBS{Value: t.Value}, nil
	case *stypes.AttributeValueMemberL:
		out := make([]dtypes.AttributeValue, 0, len(t.Value))
		for _, x := range t.Value {
			av, err := fromStreams(x)
			if err != nil {
				return nil, err
			}
			out = append(out, av)
		}
		return &dtypes.AttributeValueMemberL{Value: out}, nil
	case *stypes.AttributeValueMemberM:
		m, err := ImageFromStreams(t.Value)
		if err != nil {
			return nil, err
		}
		return &dtypes.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("unknown attribute value %T", v)
}

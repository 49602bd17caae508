package testenv_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestDynamoDBRoundTrip(t *testing.T) {
	t.Parallel()
	began := time.Now()
	d := testenv.DynamoDB(t)
	t.Logf("dynamodb %s table %s ready in %s", d.URL, d.Table, time.Since(began).Round(time.Millisecond))
	if !strings.HasPrefix(d.Table, "steward-test-") {
		t.Fatalf("table %q", d.Table)
	}
	if again := testenv.DynamoDB(t); again.Table != d.Table {
		t.Fatalf("second call made table %s, first %s", again.Table, d.Table)
	}
	ctx := context.Background()
	desc, err := d.Client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(d.Table)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(desc.Table.GlobalSecondaryIndexes), len(store.Definition.Indexes); got != want {
		t.Fatalf("table has %d indexes, want %d", got, want)
	}

	type item struct {
		PK   string `dynamodbav:"pk"`
		SK   string `dynamodbav:"sk"`
		Name string `dynamodbav:"name"`
	}
	in := item{PK: testenv.NewID("ACCOUNT"), SK: "PROFILE", Name: "Ada"}
	av, err := attributevalue.MarshalMap(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(d.Table), Item: av}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	key, _ := attributevalue.MarshalMap(map[string]string{"pk": in.PK, "sk": in.SK})
	got, err := d.Client.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(d.Table), Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	var out item
	if err := attributevalue.UnmarshalMap(got.Item, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("read back %+v, wrote %+v", out, in)
	}
}

func TestSESStore(t *testing.T) {
	t.Parallel()
	began := time.Now()
	ses := testenv.SES(t)
	t.Logf("ses %s ready in %s", ses.URL, time.Since(began).Round(time.Millisecond))
	to := testenv.NewID("approver") + "@example.com"
	sent := time.Now()
	_, err := ses.Client.SendEmail(context.Background(), &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("Steward <no-reply@steward.example>"),
		Destination:      &sestypes.Destination{ToAddresses: []string{to}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("Approve PO-42")},
			Body: &sestypes.Body{
				Text: &sestypes.Content{Data: aws.String("Open the link to decide.")},
				Html: &sestypes.Content{Data: aws.String("<p>Open the link to decide.</p>")},
			},
		}},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	e := ses.WaitForEmail(t, strings.ToUpper(to), 5*time.Second)
	if e.Subject != "Approve PO-42" || e.Body.Text != "Open the link to decide." || !strings.Contains(e.Body.HTML, "<p>") || e.MessageID == "" {
		t.Fatalf("email %+v", e)
	}
	if !strings.Contains(e.From, "no-reply@steward.example") {
		t.Fatalf("from %q", e.From)
	}
	found := false
	for _, s := range ses.Emails(t, sent) {
		found = found || s.MessageID == e.MessageID
	}
	if !found {
		t.Fatalf("Emails(since %s) lacks %s", sent, e.MessageID)
	}
	if n := len(ses.Emails(t, time.Now().Add(time.Hour))); n != 0 {
		t.Fatalf("Emails(an hour ahead) = %d emails", n)
	}
}

// waitExecution polls until the execution leaves RUNNING.
func waitExecution(t *testing.T, client *sfn.Client, arn *string) *sfn.DescribeExecutionOutput {
	t.Helper()
	var d *sfn.DescribeExecutionOutput
	testenv.Eventually(t, 10*time.Second, "the execution to leave RUNNING", func() error {
		var err error
		d, err = client.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: arn})
		if err != nil {
			t.Fatalf("DescribeExecution: %v", err)
		}
		if d.Status == sfntypes.ExecutionStatusRunning {
			return errors.New("still running")
		}
		return nil
	})
	return d
}

func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("output %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Fatalf("output %s, want %s", gb, wb)
	}
}

func TestMotoPassMachineTwice(t *testing.T) {
	t.Parallel()
	began := time.Now()
	m := testenv.Moto(t)
	t.Logf("moto %s ready in %s", m.URL, time.Since(began).Round(time.Millisecond))
	ctx := context.Background()
	sm, err := m.SFN.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String(testenv.NewID("pass")),
		RoleArn:    aws.String(m.RoleARN("steward-test")),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","Parameters":{"got.$":"$.n"},"End":true}}}`),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	for _, n := range []string{"1", "2"} {
		ex, err := m.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: sm.StateMachineArn,
			Name:            aws.String(testenv.NewID("run")),
			Input:           aws.String(`{"n":` + n + `}`),
		})
		if err != nil {
			t.Fatalf("StartExecution %s: %v", n, err)
		}
		d := waitExecution(t, m.SFN, ex.ExecutionArn)
		if d.Status != sfntypes.ExecutionStatusSucceeded {
			t.Fatalf("execution %s: %s", n, d.Status)
		}
		jsonEqual(t, aws.ToString(d.Output), `{"got":`+n+`}`)
	}
}

func TestMotoQueuedLambdaResult(t *testing.T) {
	t.Parallel()
	m := testenv.Moto(t)
	m.Exclusive(t)
	ctx := context.Background()
	sm, err := m.SFN.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:    aws.String(testenv.NewID("task")),
		RoleArn: aws.String(m.RoleARN("steward-test")),
		Definition: aws.String(`{"StartAt":"T","States":{"T":{"Type":"Task",` +
			`"Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"decide","Payload.$":"$"},` +
			`"OutputPath":"$.Payload","End":true}}}`),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	m.QueueLambdaResults(t, map[string]string{"decision": "approved"})
	ex, err := m.SFN.StartExecution(ctx, &sfn.StartExecutionInput{
		StateMachineArn: sm.StateMachineArn,
		Name:            aws.String(testenv.NewID("run")),
		Input:           aws.String(`{"doc":"PO-1"}`),
	})
	if err != nil {
		t.Fatalf("StartExecution: %v", err)
	}
	d := waitExecution(t, m.SFN, ex.ExecutionArn)
	if d.Status != sfntypes.ExecutionStatusSucceeded {
		t.Fatalf("execution: %s", d.Status)
	}
	jsonEqual(t, aws.ToString(d.Output), `{"decision":"approved"}`)
}

func TestNewID(t *testing.T) {
	a, b := testenv.NewID("x"), testenv.NewID("x")
	if a == b || !strings.HasPrefix(a, "x-") || len(a) != 2+16 {
		t.Fatalf("NewID: %q %q", a, b)
	}
}

package emulator_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/infra/testkit/testenv"
	"github.com/stewardhq/steward/pkg/awsclient"
	"github.com/stewardhq/steward/pkg/awsclient/sesclient"
	"github.com/stewardhq/steward/pkg/awsclient/sfnclient"
)

func startCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// stopAndCheckGone stops p and checks that no process is left.
func stopAndCheckGone(t *testing.T, p *emulator.Process) {
	t.Helper()
	if err := p.Stop(); err != nil {
		t.Fatalf("stop %s: %v", p.Name, err)
	}
	if err := p.Stop(); err != nil { // idempotent
		t.Fatalf("second stop %s: %v", p.Name, err)
	}
	if err := syscall.Kill(p.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("%s pid %d still exists after Stop (kill 0: %v)", p.Name, p.PID, err)
	}
	if err := syscall.Kill(-p.PID, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("%s process group %d still has members after Stop (kill 0: %v)", p.Name, p.PID, err)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p.Port), time.Second); err == nil {
		c.Close()
		t.Fatalf("%s port %d still accepts connections after Stop", p.Name, p.Port)
	}
}

func checkProcess(t *testing.T, p *emulator.Process, name string) {
	t.Helper()
	t.Logf("%s: %s pid %d ready in %s", p.Name, p.URL, p.PID, p.StartTime.Round(time.Millisecond))
	if p.Name != name || p.URL != "http://127.0.0.1:"+strconv.Itoa(p.Port) || p.PID <= 0 {
		t.Fatalf("unexpected process %+v", p)
	}
}

func awsConfig(t *testing.T, ep awsclient.Endpoints) aws.Config {
	t.Helper()
	cfg, err := awsclient.LoadConfig(context.Background(), "us-east-1", ep)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestDynamoDBInMemory(t *testing.T) {
	t.Parallel()
	p, err := emulator.StartDynamoDB(startCtx(t), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	checkProcess(t, p, emulator.NameDynamoDB)
	db := awsclient.DynamoDB(awsConfig(t, awsclient.Endpoints{DynamoDB: p.URL}), p.URL)
	if _, err := db.ListTables(context.Background(), &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	stopAndCheckGone(t, p)
}

// TestDynamoDBDataDir checks that -dbPath keeps a table across restarts
// (what make run relies on).
func TestDynamoDBDataDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir() + "/data"
	ctx := context.Background()
	tables := func() ([]string, *emulator.Process) {
		p, err := emulator.StartDynamoDB(startCtx(t), emulator.Options{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Stop() })
		db := awsclient.DynamoDB(awsConfig(t, awsclient.Endpoints{DynamoDB: p.URL}), p.URL)
		out, err := db.ListTables(ctx, &dynamodb.ListTablesInput{})
		if err != nil {
			t.Fatalf("ListTables: %v", err)
		}
		if len(out.TableNames) == 0 {
			_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
				TableName:            aws.String("persisted"),
				BillingMode:          ddbtypes.BillingModePayPerRequest,
				AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: ddbtypes.ScalarAttributeTypeS}},
				KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: ddbtypes.KeyTypeHash}},
			})
			if err != nil {
				t.Fatalf("CreateTable: %v", err)
			}
		}
		return out.TableNames, p
	}
	first, p := tables()
	if len(first) != 0 {
		t.Fatalf("fresh data dir has tables %v", first)
	}
	stopAndCheckGone(t, p)
	second, p := tables()
	if len(second) != 1 || second[0] != "persisted" {
		t.Fatalf("after restart tables = %v, want [persisted]", second)
	}
	stopAndCheckGone(t, p)
}

func TestSES(t *testing.T) {
	t.Parallel()
	p, err := emulator.StartSES(startCtx(t), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	checkProcess(t, p, emulator.NameSES)
	ses := sesclient.New(awsConfig(t, awsclient.Endpoints{SES: p.URL}), p.URL)
	ctx := context.Background()
	if _, err := ses.GetAccount(ctx, &sesv2.GetAccountInput{}); err != nil {
		t.Fatalf("GetAccount: %v", err)
	}
	_, err = ses.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("steward@example.com"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"someone@example.com"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("hello")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("body")}},
		}},
	})
	if err != nil {
		t.Fatalf("SendEmail: %v", err)
	}
	resp, err := http.Get(p.URL + "/store")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var store struct {
		Emails []struct {
			Subject string `json:"subject"`
		} `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&store); err != nil {
		t.Fatal(err)
	}
	if len(store.Emails) != 1 || store.Emails[0].Subject != "hello" {
		t.Fatalf("store emails = %+v", store.Emails)
	}
	stopAndCheckGone(t, p)
}

// TestMoto runs a Pass state machine twice: moto 5.2.1 without the
// launcher's patch fails the second StartExecution.
func TestMoto(t *testing.T) {
	t.Parallel()
	p, err := emulator.StartMoto(startCtx(t), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	checkProcess(t, p, emulator.NameMoto)
	client := sfnclient.New(awsConfig(t, awsclient.Endpoints{StepFunctions: p.URL}), p.URL)
	ctx := context.Background()
	sm, err := client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
		Name:       aws.String("pass"),
		RoleArn:    aws.String("arn:aws:iam::123456789012:role/steward-test"),
		Definition: aws.String(`{"StartAt":"P","States":{"P":{"Type":"Pass","Result":{"ok":true},"End":true}}}`),
	})
	if err != nil {
		t.Fatalf("CreateStateMachine: %v", err)
	}
	for i := range 2 {
		ex, err := client.StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: sm.StateMachineArn,
			Name:            aws.String(fmt.Sprintf("run-%d-%d", i, time.Now().UnixNano())),
			Input:           aws.String(`{}`),
		})
		if err != nil {
			t.Fatalf("StartExecution %d: %v", i, err)
		}
		testenv.Eventually(t, 10*time.Second, fmt.Sprintf("execution %d to succeed", i), func() error {
			d, err := client.DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: ex.ExecutionArn})
			if err != nil {
				t.Fatalf("DescribeExecution %d: %v", i, err)
			}
			switch d.Status {
			case sfntypes.ExecutionStatusSucceeded:
				var out map[string]any
				if err := json.Unmarshal([]byte(aws.ToString(d.Output)), &out); err != nil || out["ok"] != true {
					t.Fatalf("execution %d output %q", i, aws.ToString(d.Output))
				}
				return nil
			case sfntypes.ExecutionStatusRunning:
				return fmt.Errorf("status %s", d.Status)
			}
			t.Fatalf("execution %d status %s", i, d.Status)
			return nil
		})
	}
	stopAndCheckGone(t, p)
}

func TestPortInUse(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cases := []struct {
		start func(context.Context, emulator.Options) (*emulator.Process, error)
		env   string
	}{
		{emulator.StartDynamoDB, emulator.EnvDynamoDBPort},
		{emulator.StartSES, emulator.EnvSESPort},
		{emulator.StartMoto, emulator.EnvMotoPort},
	}
	for _, c := range cases {
		p, err := c.start(startCtx(t), emulator.Options{Port: port})
		if err == nil {
			p.Stop()
			t.Fatalf("started on a taken port %d", port)
		}
		var inUse *emulator.PortInUseError
		if !errors.As(err, &inUse) {
			t.Fatalf("error %v is not a PortInUseError", err)
		}
		want := fmt.Sprintf(`port %d is already in use (is "make run" already running? set %s to use another port)`, port, c.env)
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
	}
	// The caller may name its own variable.
	_, err = emulator.StartSES(startCtx(t), emulator.Options{Port: port, PortEnv: "MY_PORT"})
	if err == nil || !strings.Contains(err.Error(), "set MY_PORT to use another port") {
		t.Fatalf("error %v does not name MY_PORT", err)
	}
}

func TestStack(t *testing.T) {
	t.Parallel()
	st, err := emulator.StartStack(startCtx(t), emulator.StackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Stop()
	env := st.TestEnv()
	if len(env) != 3 || !strings.HasPrefix(env[0], emulator.EnvTestDynamoDBURL+"=http://127.0.0.1:") {
		t.Fatalf("TestEnv = %v", env)
	}
	for _, p := range st.Processes() {
		t.Logf("%s ready in %s", p.Name, p.StartTime.Round(time.Millisecond))
	}
	if err := st.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Processes() {
		stopAndCheckGone(t, p)
	}
}

func TestPortFromEnv(t *testing.T) {
	t.Setenv("STEWARD_TEST_PORT_X", "")
	if p, err := emulator.PortFromEnv("STEWARD_TEST_PORT_X", 8000); err != nil || p != 8000 {
		t.Fatalf("default: %d %v", p, err)
	}
	t.Setenv("STEWARD_TEST_PORT_X", "9001")
	if p, err := emulator.PortFromEnv("STEWARD_TEST_PORT_X", 8000); err != nil || p != 9001 {
		t.Fatalf("set: %d %v", p, err)
	}
	t.Setenv("STEWARD_TEST_PORT_X", "nine")
	if _, err := emulator.PortFromEnv("STEWARD_TEST_PORT_X", 8000); err == nil || !strings.Contains(err.Error(), "STEWARD_TEST_PORT_X") {
		t.Fatalf("bad value: %v", err)
	}
}

func TestProjectRoot(t *testing.T) {
	root, err := emulator.ProjectRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "infra", "emulators", "package.json")); err != nil {
		t.Fatalf("root %q: %v", root, err)
	}
	if err := emulator.EnsureInstalled(context.Background(), root, nil); err != nil {
		t.Fatalf("EnsureInstalled on an installed tree: %v", err)
	}
}

package emulator_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/stewardhq/steward/infra/emulator"
	"github.com/stewardhq/steward/pkg/awsclient"
)

// reachable reports whether something accepts TCP connections on
// host:port.
func reachable(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, fmt.Sprint(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// make run's DynamoDB Local (Options.LoopbackProxy): the advertised port
// answers on 127.0.0.1 only. On Linux every 127.x.y.z address reaches the
// machine, but a socket bound to 127.0.0.1 accepts none of the others,
// while one bound to every interface (the jar's own port, the control)
// accepts them all; so a connection to 127.0.0.2 tells the two apart
// without needing a network.
func TestDynamoDBAdvertisedPortIsLoopbackOnly(t *testing.T) {
	t.Parallel()
	p, err := emulator.StartDynamoDB(startCtx(t), emulator.Options{LoopbackProxy: true})
	if err != nil {
		t.Fatal(err)
	}
	defer stopAndCheckGone(t, p)
	checkProcess(t, p, emulator.NameDynamoDB)
	if p.BackendPort == 0 || p.BackendPort == p.Port {
		t.Fatalf("backend port %d, advertised %d", p.BackendPort, p.Port)
	}
	// The control: the jar itself listens on every interface.
	if !reachable("127.0.0.2", p.BackendPort) {
		t.Fatalf("the jar's port %d does not answer on 127.0.0.2: this check cannot tell a loopback-only listener apart here", p.BackendPort)
	}
	if reachable("127.0.0.2", p.Port) {
		t.Fatalf("the advertised port %d answers on 127.0.0.2: it listens beyond 127.0.0.1", p.Port)
	}
	// The same holds for every non-loopback address of the machine.
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		if reachable(ipn.IP.String(), p.Port) {
			t.Errorf("the advertised port %d answers on %s", p.Port, ipn.IP)
		}
	}
	// Through the proxy, DynamoDB works.
	db := awsclient.DynamoDB(awsConfig(t, awsclient.Endpoints{DynamoDB: p.URL}), p.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatalf("ListTables through the proxy: %v", err)
	}
}

// A taken advertised port fails with the variable that moves it, before
// the jar starts.
func TestLoopbackProxyPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	_, err = emulator.StartDynamoDB(startCtx(t), emulator.Options{Port: port, LoopbackProxy: true, PortEnv: "STEWARD_DYNAMODB_PORT"})
	if pe, ok := err.(*emulator.PortInUseError); !ok || pe.Port != port || pe.Env != "STEWARD_DYNAMODB_PORT" {
		t.Fatalf("err = %v", err)
	}
}

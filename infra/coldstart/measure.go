package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// runTimeout bounds one cold start, from exec to the answer.
const runTimeout = 30 * time.Second

// sample is one cold start: from just before exec to the first GET /next
// (init done) and to the post of the answer (first answer).
type sample struct {
	Init, First time.Duration
	// CPU is the process's user and system CPU time, from exec to its
	// kill after the answer (it idles in GET /next by then): what the
	// cold start cost the machine, less sensitive than the wall clock to
	// other processes sharing the cores.
	CPU time.Duration
	// ToMain is, with GODEBUG=inittrace=1 in the environment, when the
	// last package init ended, from the Go runtime's start: the share of
	// Init spent before main.
	ToMain time.Duration
	// Inits is, with GODEBUG=inittrace=1, each package's init.
	Inits map[string]pkgInit
}

// pkgInit is one package's init as GODEBUG=inittrace=1 reports it.
type pkgInit struct {
	MS     float64 `json:"ms"` // wall clock
	Bytes  int64   `json:"bytes"`
	Allocs int64   `json:"allocs"`
}

// lambdaEnv is the environment of a function process: what Lambda sets
// for a provided.al2023 function, the credentials and endpoints of the
// emulators, and Steward's configuration. Nothing is inherited from
// coldstart's own environment, as nothing is in Lambda.
func lambdaEnv(t target, runtimeAPI, dir string, b *backend) []string {
	name := "steward-coldstart-" + t.Name
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"LANG=en_US.UTF-8",
		"TZ=:UTC",
		"LAMBDA_TASK_ROOT=" + dir,
		"LAMBDA_RUNTIME_DIR=" + dir,
		"_HANDLER=bootstrap",
		"AWS_LAMBDA_RUNTIME_API=" + runtimeAPI,
		"AWS_LAMBDA_FUNCTION_NAME=" + name,
		"AWS_LAMBDA_FUNCTION_VERSION=$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + strconv.Itoa(t.MemoryMB),
		"AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME=coldstart",
		"AWS_LAMBDA_INITIALIZATION_TYPE=on-demand",
		"AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
		"AWS_REGION=" + region,
		"AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=local",
		"AWS_SECRET_ACCESS_KEY=local",
		"AWS_SESSION_TOKEN=local",
		// No shared config or credentials files: none exist in Lambda.
		"AWS_CONFIG_FILE=" + filepath.Join(dir, "no-aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(dir, "no-aws-credentials"),
		// Secrets Manager has no Steward endpoint variable: the SDK's
		// service-specific endpoint variable points it at moto.
		"AWS_ENDPOINT_URL_SECRETS_MANAGER=" + b.Moto,
		"STEWARD_STAGE=coldstart",
		"STEWARD_TABLE=" + b.Table,
		"STEWARD_DYNAMODB_ENDPOINT=" + b.DynamoDB,
		"STEWARD_SES_ENDPOINT=" + b.SES,
		"STEWARD_SFN_ENDPOINT=" + b.Moto,
		"STEWARD_PUBLIC_URL=https://steward.example",
		"STEWARD_MAIL_FROM=Steward <no-reply@steward.example>",
		// As the stack does: the functions that sign tokens read the
		// private key set (only they get STEWARD_SIGNING_KEYS_SECRET in
		// AWS; pkg/app/authboot reads it only for them), the others the public keys.
		"STEWARD_SIGNING_KEYS_SECRET=" + b.SecretARN,
		"STEWARD_VERIFY_KEYS_SECRET=" + b.VerifySecretARN,
		// The API's engine only needs the ARN at init (no call is made),
		// so no state machine is created.
		"STEWARD_STATE_MACHINE_ARN=arn:aws:states:" + region + ":" + motoAccountID + ":stateMachine:steward-coldstart",
	}
}

// functionARN is the invoked function's ARN sent with the event.
func functionARN(t target) string {
	return "arn:aws:lambda:" + region + ":" + motoAccountID + ":function:steward-coldstart-" + t.Name
}

// coldStart runs bin once: arms the event, execs the process, waits for
// its first GET /next and its answer, checks the answer, and kills the
// process. The process's output is quoted in any error.
func coldStart(ctx context.Context, api *runtimeAPI, t target, bin string, env []string) (sample, error) {
	inv := api.Arm(t.Event, t.Timeout, functionARN(t))
	defer api.Disarm()
	traced := slices.Contains(env, inittraceEnv)
	// Room for a goroutine dump, or a line per package init.
	out := &tailBuffer{limit: 256 << 10}
	cmd := exec.Command(bin)
	cmd.Dir, cmd.Env = filepath.Dir(bin), env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = childSysProcAttr()

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return sample{}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	timer := time.NewTimer(runTimeout)
	defer timer.Stop()

	var (
		s      sample
		ans    answer
		runErr error
		gone   bool
	)
wait:
	for {
		select {
		case at := <-inv.next:
			s.Init = at.Sub(start)
		case ans = <-inv.result:
			break wait
		case err := <-exited:
			gone = true
			runErr = fmt.Errorf("process exited before answering (%v; %s)", err, initState(s))
			break wait
		case <-timer.C:
			runErr = fmt.Errorf("no answer within %s (%s); goroutine dump below", runTimeout, initState(s))
			// A Go process prints every goroutine's stack on SIGQUIT.
			_ = cmd.Process.Signal(quitSignal)
			select {
			case <-exited:
				gone = true
			case <-time.After(3 * time.Second):
			}
			break wait
		case <-ctx.Done():
			runErr = context.Cause(ctx)
			break wait
		}
	}
	if !gone {
		_ = cmd.Process.Kill() // it waits on GET /next now
		<-exited
	}
	if ps := cmd.ProcessState; ps != nil {
		s.CPU = ps.UserTime() + ps.SystemTime()
	}
	if runErr == nil {
		if s.Init == 0 && ans.Kind != kindInitError {
			// The event was handed out before the answer came: its
			// time is in the channel already.
			s.Init = (<-inv.next).Sub(start)
		}
		s.First = ans.At.Sub(start)
		runErr = t.check(ans)
	}
	if runErr == nil && traced {
		if s.ToMain, runErr = toMain(out.String()); runErr != nil {
			return sample{}, runErr
		}
		s.Inits = packageInits(out.String())
	}
	if runErr != nil {
		return sample{}, fmt.Errorf("%w\n--- process output (last lines) ---\n%s", runErr, out.String())
	}
	return s, nil
}

// initState says whether the process got as far as asking for its event.
func initState(s sample) string {
	if s.Init == 0 {
		return "init not done: no GET /next"
	}
	return fmt.Sprintf("init done after %s", s.Init.Round(time.Millisecond))
}

// inittraceEnv makes the Go runtime print one line per package init.
const inittraceEnv = "GODEBUG=inittrace=1"

// toMain reads GODEBUG=inittrace=1 output ("init pkg @12 ms, 0.5 ms
// clock, ...") and returns when the last package init ended.
func toMain(output string) (time.Duration, error) {
	var end float64
	lines := 0
	for line := range strings.Lines(output) {
		f := strings.Fields(line)
		if len(f) < 7 || f[0] != "init" || !strings.HasPrefix(f[2], "@") || f[6] != "clock," {
			continue
		}
		at, err1 := strconv.ParseFloat(f[2][1:], 64)
		clock, err2 := strconv.ParseFloat(f[4], 64)
		if err1 != nil || err2 != nil {
			return 0, fmt.Errorf("inittrace line %q", strings.TrimSpace(line))
		}
		end = max(end, at+clock)
		lines++
	}
	if lines == 0 {
		return 0, errors.New("no inittrace lines in the process output")
	}
	return time.Duration(end * float64(time.Millisecond)), nil
}

// packageInits reads GODEBUG=inittrace=1 output ("init pkg @12 ms, 0.5 ms
// clock, 100 bytes, 3 allocs") into each package's init.
func packageInits(output string) map[string]pkgInit {
	out := map[string]pkgInit{}
	for line := range strings.Lines(output) {
		f := strings.Fields(line)
		if len(f) < 11 || f[0] != "init" || f[6] != "clock," || f[8] != "bytes," || f[10] != "allocs" {
			continue
		}
		ms, err1 := strconv.ParseFloat(f[4], 64)
		bytes, err2 := strconv.ParseInt(f[7], 10, 64)
		allocs, err3 := strconv.ParseInt(f[9], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		out[f[1]] = pkgInit{MS: ms, Bytes: bytes, Allocs: allocs}
	}
	return out
}

// tailBuffer keeps about the last limit bytes written to it.
type tailBuffer struct {
	mu    sync.Mutex
	limit int
	buf   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.limit; over > 0 {
		t.buf = t.buf[over:]
		if i := bytes.IndexByte(t.buf, '\n'); i >= 0 {
			t.buf = t.buf[i+1:]
		}
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// quantiles are the median and the 90th percentile of a set of times.
type quantiles struct {
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
}

// summarize returns the median (the mean of the middle two for an even
// count) and the 90th percentile (nearest rank) of ds, in milliseconds.
func summarize(ds []time.Duration) (quantiles, error) {
	if len(ds) == 0 {
		return quantiles{}, errors.New("no samples")
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	p90 := s[int(math.Ceil(0.9*float64(n)))-1]
	return quantiles{P50: ms(med), P90: ms(p90)}, nil
}

// ms is d in milliseconds, rounded to 0.01.
func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Millisecond)*100) / 100
}

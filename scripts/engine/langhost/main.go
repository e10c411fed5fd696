// pulumi-language-nodejs: a minimal Node.js language host for the Pulumi engine.
//
// The Go module proxy refuses pulumi's own language host module
// (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3: "403 Forbidden:
// This module version is not available"), so this project ships its own. It
// serves the LanguageRuntime gRPC interface of github.com/pulumi/pulumi/sdk/v3
// with what `pulumi preview/up/refresh/destroy` need for a Node.js program: Run
// starts `node <program's @pulumi/pulumi>/cmd/run` with the engine's arguments,
// and the dependency/plugin queries answer "nothing more needed" (our programs
// use only the built-in dynamic provider, found on PATH as
// pulumi-resource-pulumi-nodejs). RunPlugin runs Node.js policy packs: since
// pulumi v3.1xx the CLI runs a pack whose PulumiPolicy.yaml says `runtime:
// nodejs` through the nodejs language host (plugin.NewPolicyAnalyzer), not
// through a `pulumi-analyzer-policy` script.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string

	mu       sync.Mutex
	programs map[*exec.Cmd]struct{} // the Node.js programs running now, killed if the engine dies
}

// exitWithEngine ends the language host, and the programs it runs, soon after the engine is gone.
// Pulumi's own language hosts health-check their engine; without it, a `pulumi up` killed with
// SIGKILL leaves this process (and its program) running forever. The engine is our parent: when
// it dies we are re-parented, so a change of the parent pid means it is gone.
func (h *host) exitWithEngine(every time.Duration) {
	engine := os.Getppid()
	for range time.Tick(every) {
		if os.Getppid() == engine {
			continue
		}
		h.mu.Lock()
		for cmd := range h.programs {
			if cmd.Process != nil {
				_ = cmd.Process.Kill()
			}
		}
		h.mu.Unlock()
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: the Pulumi engine (pid %d) is gone; exiting\n", engine)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.engineAddress = req.GetEngineAddress()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: strings.TrimPrefix(version.Version, "v")}, nil
}

func (h *host) GetRequiredPlugins(context.Context, *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

func (h *host) GetRequiredPackages(context.Context, *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

func (h *host) GetProgramDependencies(context.Context, *pulumirpc.GetProgramDependenciesRequest) (*pulumirpc.GetProgramDependenciesResponse, error) {
	return &pulumirpc.GetProgramDependenciesResponse{}, nil
}

// InstallDependencies does nothing: the project installs its own with `npm ci`.
func (h *host) InstallDependencies(*pulumirpc.InstallDependenciesRequest, grpc.ServerStreamingServer[pulumirpc.InstallDependenciesResponse]) error {
	return nil
}

func (h *host) About(context.Context, *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	node, _ := exec.LookPath("node")
	out, _ := exec.Command("node", "--version").Output()
	return &pulumirpc.AboutResponse{Executable: node, Version: strings.TrimSpace(string(out))}, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := req.GetPwd()
	entry := "."
	if info != nil {
		if info.GetProgramDirectory() != "" {
			programDir = info.GetProgramDirectory()
		}
		if info.GetEntryPoint() != "" {
			entry = info.GetEntryPoint()
		}
	}
	runner, err := findModule(programDir, "@pulumi/pulumi/cmd/run")
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	args := []string{runner,
		"--monitor=" + req.GetMonitorAddress(),
		"--engine=" + h.engineAddress,
		"--project=" + req.GetProject(),
		"--stack=" + req.GetStack(),
		"--pwd=" + req.GetPwd(),
		"--parallel=" + strconv.Itoa(int(req.GetParallel())),
	}
	if req.GetOrganization() != "" {
		args = append(args, "--organization="+req.GetOrganization())
	}
	if info != nil && info.GetRootDirectory() != "" {
		args = append(args, "--root-directory="+info.GetRootDirectory())
	}
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	args = append(args, filepath.Join(programDir, entry))
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}
	env := append(os.Environ(), "PULUMI_CONFIG="+string(config), "PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys))
	typescript := true
	if info != nil && info.GetOptions() != nil {
		opts := info.GetOptions().AsMap()
		if v, ok := opts["typescript"].(bool); ok {
			typescript = v
		}
		if v, ok := opts["tsconfig"].(string); ok && v != "" {
			env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+v)
		}
	}
	env = append(env, "PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(typescript))

	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = req.GetPwd()
	cmd.Env = env
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	err = h.wait(cmd)
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// 32: the program failed and already reported why (the runner's "bail" code).
			if exit.ExitCode() == 32 {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exit.ExitCode())}, nil
		}
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// wait waits for a started program to end, listed among the programs running meanwhile (killed if the engine dies).
func (h *host) wait(cmd *exec.Cmd) error {
	h.mu.Lock()
	h.programs[cmd] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.programs, cmd)
		h.mu.Unlock()
	}()
	return cmd.Wait()
}

// findModule looks for node_modules/<module>/index.js from dir upwards, as node would resolve it.
func findModule(dir, module string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "node_modules", filepath.FromSlash(module))
		if _, err := os.Stat(filepath.Join(p, "index.js")); err == nil {
			return p, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("cannot find %s in node_modules above %s: run `npm install`", module, dir)
		}
	}
}

// RunPlugin starts a policy pack (kind "analyzer"): `node @pulumi/pulumi/cmd/run-policy-pack <engine> <pack>`
// in the pack's folder (where @pulumi/policy reads its package.json), with @pulumi/pulumi resolved from
// the pack's folder upwards (node_modules/pulumi-cloudiway/policy finds the project's node_modules).
// Its standard output (the port first) and error go back to the engine on the stream, then its exit code.
func (h *host) RunPlugin(req *pulumirpc.RunPluginRequest, server grpc.ServerStreamingServer[pulumirpc.RunPluginResponse]) error {
	if req.GetKind() != "analyzer" {
		return fmt.Errorf("pulumi-language-nodejs (pulumi-cloudiway): only policy packs (analyzer plugins) run here, not %q plugins", req.GetKind())
	}
	packDir := req.GetPwd()
	if info := req.GetInfo(); info != nil && info.GetProgramDirectory() != "" {
		packDir = info.GetProgramDirectory()
	}
	runner, err := findModule(packDir, "@pulumi/pulumi/cmd/run-policy-pack")
	if err != nil {
		return err
	}
	// The engine's address is the last argument; logging and tracing flags may come before it.
	args := req.GetArgs()
	if len(args) == 0 {
		return errors.New("RunPlugin: no engine address")
	}
	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(server.Context(), "node", runner, args[len(args)-1], packDir)
	cmd.Dir = packDir
	cmd.Env = req.GetEnv()
	if len(cmd.Env) == 0 {
		cmd.Env = os.Environ()
	}
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		_ = closer.Close()
		return err
	}
	err = h.wait(cmd)
	if cerr := closer.Close(); cerr != nil {
		return cerr
	}
	code := 0
	if err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) {
			return err
		}
		code = exit.ExitCode()
	}
	return server.Send(&pulumirpc.RunPluginResponse{Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(code)}})
}

func main() {
	flag.String("tracing", "", "ignored")
	flag.String("root", "", "ignored")
	flag.Bool("typescript", true, "ignored")
	flag.String("tsconfig", "", "ignored")
	flag.String("nodeargs", "", "ignored")
	flag.Parse()
	h := &host{programs: map[*exec.Cmd]struct{}{}}
	if flag.NArg() > 0 {
		h.engineAddress = flag.Arg(0)
	}
	go h.exitWithEngine(time.Second)
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(s *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(s, h)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

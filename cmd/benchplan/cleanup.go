package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/benchplan/benchplan/executor/servers"
	"github.com/benchplan/benchplan/executor/servers/kube"
)

// cmdCleanup stops the process servers and removes the containers that
// killed runs left behind.
func cmdCleanup(ctx context.Context, st *cliState, args []string) int {
	stdout, stderr := st.Stdout, st.Stderr
	fs := flag.NewFlagSet("benchplan cleanup", flag.ContinueOnError)
	all := fs.Bool("all", false, "stop every process server and remove every container benchplan started, also those of runs that still run")
	runID := fs.String("run", "", "stop the process servers and remove the containers of this run id (label benchplan.run), also while it runs")
	grace := fs.Duration("grace", 10*time.Second, "how long a process server's group has between SIGTERM and SIGKILL")
	k8s := fs.Bool("kubernetes", false, "find the pods, services and secrets benchplan created in a Kubernetes cluster (label app.kubernetes.io/managed-by=benchplan; with --run, benchplan.dev/run=ID) instead; lists them unless --yes")
	kubeconfig := fs.String("kubeconfig", "", "with --kubernetes: the kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the pod's service account)")
	kubeContext := fs.String("context", "", "with --kubernetes: the kubeconfig context (default: the current one)")
	namespace := fs.String("namespace", "", "with --kubernetes: the namespace (default: the context's)")
	allNS := fs.Bool("all-namespaces", false, "with --kubernetes: every namespace")
	yes := fs.Bool("yes", false, "with --kubernetes: delete what is found (default: list it only)")
	pos, err := parse(fs, args, stderr)
	if err != nil {
		return flagExit(err)
	}
	if len(pos) != 0 {
		fmt.Fprintln(stderr, "benchplan cleanup: takes no arguments")
		return exitInvalid
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if *k8s {
		return cleanupKubernetes(ctx, st, kube.ConnectOptions{Kubeconfig: *kubeconfig, Context: *kubeContext, Env: st.Env},
			kube.CleanupOptions{Namespace: *namespace, AllNamespaces: *allNS, Run: *runID, Delete: *yes})
	}
	if *kubeconfig != "" || *kubeContext != "" || *namespace != "" || *allNS || *yes {
		fmt.Fprintln(stderr, "benchplan cleanup: --kubeconfig, --context, --namespace, --all-namespaces and --yes go with --kubernetes")
		return exitInvalid
	}
	code := exitOK

	// Process servers first: an orphan holds its port (and GPU) until it
	// is gone.
	np, err := servers.ReapProcesses(ctx, servers.ProcessFilter{Run: *runID, All: *all, Env: st.Env}, *grace, stderr)
	fmt.Fprintf(stdout, "benchplan cleanup: stopped %d process group(s)\n", np)
	if err != nil {
		fmt.Fprintf(stderr, "benchplan cleanup: process servers: %v\n", err)
		code = exitRunFailed
	}

	var n int
	switch {
	case *runID != "":
		n, err = servers.RemoveAll(ctx, servers.RunLabel+"="+*runID)
	case *all:
		n, err = servers.RemoveAll(ctx, servers.RunLabel)
	default:
		n, err = servers.Reap(ctx, servers.RunLabel)
	}
	switch {
	case err != nil && strings.Contains(err.Error(), "need Docker"):
		// No Docker here: no container either.
		fmt.Fprintf(stdout, "benchplan cleanup: no Docker engine answers: no container to remove\n")
	default:
		fmt.Fprintf(stdout, "benchplan cleanup: removed %d container(s)\n", n)
		if err != nil {
			fmt.Fprintf(stderr, "benchplan cleanup: containers: %v\n", err)
			code = exitRunFailed
		}
	}
	return code
}

// cleanupKubernetes lists (or, with --yes, deletes) what benchplan left in
// a cluster.
func cleanupKubernetes(ctx context.Context, st *cliState, co kube.ConnectOptions, o kube.CleanupOptions) int {
	c, err := kube.Connect(co)
	if err != nil {
		fmt.Fprintf(st.Stderr, "benchplan cleanup: %v\n", err)
		return exitRunFailed
	}
	n, err := kube.Cleanup(ctx, c, o, st.Stdout)
	switch {
	case o.Delete:
		fmt.Fprintf(st.Stdout, "benchplan cleanup: deleted %d Kubernetes object(s)\n", n)
	case n > 0:
		fmt.Fprintf(st.Stdout, "benchplan cleanup: found %d Kubernetes object(s); delete them with --yes\n", n)
	default:
		fmt.Fprintln(st.Stdout, "benchplan cleanup: found no Kubernetes object of benchplan's")
	}
	if err != nil {
		fmt.Fprintf(st.Stderr, "benchplan cleanup: %v\n", err)
		return exitRunFailed
	}
	return exitOK
}

package servers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Container labels: every container benchplan starts carries them, so
// that a run can find its own containers and Reap can find those a dead
// run left behind.
const (
	// RunLabel holds the run's id (Options.RunID, Manager.RunID).
	RunLabel = "benchplan.run"
	// ServerLabel holds the server's name in the plan.
	ServerLabel = "benchplan.server"
	// PIDLabel and HostLabel name the benchplan process that owns the
	// container, and its machine.
	PIDLabel  = "benchplan.pid"
	HostLabel = "benchplan.host"
)

// RyukEnv is the testcontainers-go variable that turns off its reaper
// container (which needs an image pull): benchplan removes its containers
// itself. Set to exactly "true" unless the user set it.
const RyukEnv = "TESTCONTAINERS_RYUK_DISABLED"

// ConfigureProcess sets what testcontainers-go reads from the process:
// no reaper container (Ryuk, which would need pulling) unless the user
// asked for one with RyukEnv, and no log lines of its own on stderr. It
// changes process-wide state, so the command calls it once at its start,
// as tests do in TestMain; the package never does it behind a caller's
// back.
func ConfigureProcess() {
	if _, ok := os.LookupEnv(RyukEnv); !ok {
		_ = os.Setenv(RyukEnv, "true")
	}
	tclog.SetDefault(tclog.NewNoopLogger())
}

// dockerClient connects to the Docker engine testcontainers-go finds
// (DOCKER_HOST, the docker context, the default socket).
func dockerClient(ctx context.Context) (*testcontainers.DockerClient, error) {
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("container servers need Docker, which is not available: %w", err)
	}
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("container servers need Docker, which does not answer: %w", err)
	}
	return cli, nil
}

// DockerAvailable reports whether a Docker engine answers.
func DockerAvailable(ctx context.Context) error {
	cli, err := dockerClient(ctx)
	if err != nil {
		return err
	}
	return cli.Close()
}

// ownerLabels are the labels naming this process as a container's owner.
func ownerLabels(runID, server string) map[string]string {
	host, _ := os.Hostname()
	return map[string]string{
		RunLabel:    runID,
		ServerLabel: server,
		PIDLabel:    strconv.Itoa(os.Getpid()),
		HostLabel:   host,
	}
}

// Reap removes the containers that carry label (a key such as RunLabel,
// or key=value) and whose benchplan process is gone: started on this
// machine by a process that no longer runs (a run killed with SIGKILL, a
// machine that lost power). Containers of a benchplan that still runs, or
// of another machine sharing the Docker engine, are left alone. It returns
// how many containers it removed.
//
// The Manager reaps RunLabel before it starts its first container;
// `docker rm -f $(docker ps -aq --filter label=benchplan.run)` removes
// every benchplan container by hand.
func Reap(ctx context.Context, label string) (int, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	return reap(ctx, cli, label)
}

func reap(ctx context.Context, cli client.APIClient, label string) (int, error) {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return 0, fmt.Errorf("listing containers labelled %s: %w", label, err)
	}
	host, _ := os.Hostname()
	n := 0
	var errs []error
	for _, c := range list.Items {
		pid, err := strconv.Atoi(c.Labels[PIDLabel])
		if err != nil || c.Labels[HostLabel] != host || pidAlive(pid) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("removing container %s: %w", shortID(c.ID), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// RemoveAll removes every container that carries label, whoever owns it
// (`benchplan cleanup --all`), and returns how many it removed.
func RemoveAll(ctx context.Context, label string) (int, error) {
	cli, err := dockerClient(ctx)
	if err != nil {
		return 0, err
	}
	defer cli.Close()
	return removeLabelled(ctx, cli, label)
}

// removeLabelled removes every container carrying label=value, whoever
// owns it: a run's last sweep over its own containers.
func removeLabelled(ctx context.Context, cli client.APIClient, label string) (int, error) {
	list, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: make(client.Filters).Add("label", label)})
	if err != nil {
		return 0, fmt.Errorf("listing containers labelled %s: %w", label, err)
	}
	var errs []error
	n := 0
	for _, c := range list.Items {
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("removing container %s: %w", shortID(c.ID), err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}

// imageDigest is an image's content digest: the digest of its repository
// reference matching the image's name, else the first one, else its id
// (an image built here has no repository digest).
func imageDigest(name string, repoDigests []string, id string) string {
	repo := name
	if i := strings.LastIndex(repo, "@"); i >= 0 {
		repo = repo[:i]
	} else if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo = repo[:i]
	}
	best := ""
	for _, d := range repoDigests {
		r, dg, ok := strings.Cut(d, "@")
		if !ok {
			continue
		}
		if best == "" {
			best = dg
		}
		if r == repo || strings.TrimPrefix(r, "docker.io/") == strings.TrimPrefix(repo, "docker.io/") ||
			strings.TrimPrefix(r, "docker.io/library/") == repo {
			return dg
		}
	}
	if best != "" {
		return best
	}
	return id
}

func shortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

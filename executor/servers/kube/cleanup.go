package kube

import (
	"context"
	"errors"
	"fmt"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CleanupOptions say which leftovers Cleanup finds.
type CleanupOptions struct {
	// Namespace to search; "" with AllNamespaces false: the cluster's.
	Namespace     string
	AllNamespaces bool
	// Run limits it to one run's objects (label benchplan.dev/run); "":
	// every object benchplan manages.
	Run string
	// Delete deletes what it finds; false only lists it.
	Delete bool
}

// maxCleanup bounds the objects one Cleanup lists per kind.
const maxCleanup = 1000

// Cleanup finds the pods, services and secrets benchplan created (label
// app.kubernetes.io/managed-by=benchplan, and benchplan.dev/run=RUN with
// o.Run), writes one line per object to w, and deletes them when o.Delete
// (pods at once: a leftover server has no run to finish). It returns how
// many it found.
func Cleanup(ctx context.Context, c *Cluster, o CleanupOptions, w io.Writer) (int, error) {
	ns := o.Namespace
	switch {
	case o.AllNamespaces:
		ns = metav1.NamespaceAll
	case ns == "":
		ns = c.Namespace
	}
	sel := ManagedByLabel + "=" + ManagedBy
	if o.Run != "" {
		sel += "," + RunLabel + "=" + labelValue(o.Run)
	}
	lo := metav1.ListOptions{LabelSelector: sel, Limit: maxCleanup}
	core := c.Client.CoreV1()
	verb := "found"
	if o.Delete {
		verb = "deleting"
	}
	zero := int64(0)
	var errs []error
	n := 0
	note := func(kind, ns, name, run string, err error) {
		n++
		fmt.Fprintf(w, "%s %s %s/%s (run %s)\n", verb, kind, ns, name, run)
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("%s %s/%s: %w", kind, ns, name, err))
		}
	}
	pods, err := core.Pods(ns).List(ctx, lo)
	if err != nil {
		return n, fmt.Errorf("listing pods: %w", err)
	}
	for _, p := range pods.Items {
		var err error
		if o.Delete {
			err = core.Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
		}
		note("pod", p.Namespace, p.Name, p.Labels[RunLabel], err)
	}
	svcs, err := core.Services(ns).List(ctx, lo)
	if err != nil {
		return n, fmt.Errorf("listing services: %w", err)
	}
	for _, s := range svcs.Items {
		var err error
		if o.Delete {
			err = core.Services(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		}
		note("service", s.Namespace, s.Name, s.Labels[RunLabel], err)
	}
	secs, err := core.Secrets(ns).List(ctx, lo)
	if err != nil {
		return n, fmt.Errorf("listing secrets: %w", err)
	}
	for _, s := range secs.Items {
		var err error
		if o.Delete {
			err = core.Secrets(s.Namespace).Delete(ctx, s.Name, metav1.DeleteOptions{})
		}
		note("secret", s.Namespace, s.Name, s.Labels[RunLabel], err)
	}
	return n, errors.Join(errs...)
}

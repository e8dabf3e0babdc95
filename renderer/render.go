package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/loader"
	loaderv2 "helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/cli"
	release "helm.sh/helm/v4/pkg/release/v1"
)

// request is one release to render: the arguments Harmonia gives `helm template`.
type request struct {
	ID          string   `json:"id"`
	Chart       string   `json:"chart"`
	Release     string   `json:"release"`
	Namespace   string   `json:"namespace"`
	Values      string   `json:"values"`
	KubeVersion string   `json:"kubeVersion"`
	APIVersions []string `json:"apiVersions"`
	IncludeCRDs bool     `json:"includeCRDs"`
}

// response is `helm template`'s stdout (manifest) or the message helm prints after
// "Error: " on its stderr (error); exactly one of them is set.
type response struct {
	ID       string `json:"id"`
	Manifest string `json:"manifest,omitempty"`
	Error    string `json:"error,omitempty"`
}

// settings stand for helm's global flags, read from the environment as helm reads them
// (HELM_*, KUBECONFIG); a client-side dry run never uses the cluster they name.
var settings = cli.New()

func render(ask request) (answer response) {
	answer.ID = ask.ID
	defer func() {
		// A panic in a chart's template code fails that request, not the process.
		if recovered := recover(); recovered != nil {
			answer = response{ID: ask.ID, Error: fmt.Sprintf("%v", recovered)}
		}
	}()
	manifest, err := template(ask)
	if err != nil {
		return response{ID: ask.ID, Error: err.Error()}
	}
	return response{ID: ask.ID, Manifest: manifest}
}

// template is pkg/cmd/template.go's RunE and install.go's runInstall for a local chart,
// values from one YAML document, client-side dry run, without --debug and --show-only.
func template(ask request) (string, error) {
	cfg := action.NewConfiguration()
	if err := cfg.Init(settings.RESTClientGetter(), ask.Namespace, os.Getenv("HELM_DRIVER")); err != nil {
		return "", err
	}
	client := action.NewInstall(cfg)
	if ask.KubeVersion != "" {
		parsed, err := common.ParseKubeVersion(ask.KubeVersion)
		if err != nil {
			return "", fmt.Errorf("invalid kube version '%s': %w", ask.KubeVersion, err)
		}
		client.KubeVersion = parsed
	}
	client.DryRunStrategy = action.DryRunClient
	client.Replace = true
	client.APIVersions = common.VersionSet(splitList(ask.APIVersions))
	client.IncludeCRDs = ask.IncludeCRDs
	client.ReleaseName = ask.Release
	client.Namespace = ask.Namespace

	rel, err := install(client, ask)
	if err != nil {
		if rel != nil {
			return "", fmt.Errorf("%w\n\nUse --debug flag to render out invalid YAML", err)
		}
		return "", err
	}
	var manifests bytes.Buffer
	fmt.Fprintln(&manifests, strings.TrimSpace(rel.Manifest))
	for _, hook := range rel.Hooks {
		fmt.Fprintf(&manifests, "---\n# Source: %s\n%s\n", hook.Path, hook.Manifest)
	}
	return manifests.String(), nil
}

// install is runInstall without the chart download and dependency update (Harmonia
// resolves charts itself and passes a local path).
func install(client *action.Install, ask request) (*release.Release, error) {
	path, err := locate(ask.Chart)
	if err != nil {
		return nil, err
	}
	vals, err := mergedValues(ask.Values)
	if err != nil {
		return nil, err
	}
	requested, err := loader.Load(path)
	if err != nil {
		return nil, err
	}
	accessor, err := chart.NewAccessor(requested)
	if err != nil {
		return nil, err
	}
	if err := installable(accessor); err != nil {
		return nil, err
	}
	if dependencies := accessor.MetaDependencies(); len(dependencies) > 0 {
		if err := action.CheckDependencies(requested, dependencies); err != nil {
			return nil, fmt.Errorf("an error occurred while checking for chart dependencies. You may need to run 'helm dependency build' to fetch missing dependencies: %w", err)
		}
	}
	rendered, err := client.RunWithContext(context.Background(), requested, vals)
	rel, convertErr := asV1Release(rendered)
	if convertErr != nil {
		return nil, convertErr
	}
	return rel, err
}

// locate is ChartPathOptions.LocateChart for a path on disk.
func locate(name string) (string, error) {
	name = strings.TrimSpace(name)
	if _, err := os.Stat(name); err != nil {
		return name, fmt.Errorf("path %q not found", name)
	}
	return filepath.Abs(name)
}

// mergedValues is values.Options.MergeValues for `--values -`.
func mergedValues(text string) (map[string]any, error) {
	current, err := loaderv2.LoadValues(strings.NewReader(text))
	if err != nil {
		return nil, fmt.Errorf("failed to parse -: %w", err)
	}
	return loaderv2.MergeMaps(map[string]any{}, current), nil
}

// installable is pkg/cmd's checkIfInstallable: only application charts install.
func installable(accessor chart.Accessor) error {
	switch kind := accessor.MetadataAsMap()["Type"]; kind {
	case "", "application":
		return nil
	default:
		return fmt.Errorf("%s charts are not installable", kind)
	}
}

func asV1Release(rendered any) (*release.Release, error) {
	switch typed := rendered.(type) {
	case release.Release:
		return &typed, nil
	case *release.Release:
		return typed, nil
	case nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("unsupported release type: %T", rendered)
	}
}

// splitList reads --api-versions as pflag's StringSlice does: each value may list
// several, comma-separated.
func splitList(values []string) []string {
	var items []string
	for _, value := range values {
		if value == "" {
			continue
		}
		items = append(items, strings.Split(value, ",")...)
	}
	return items
}

package exporter

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// ServiceName is service.name unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise.
const ServiceName = "teamsflow"

// newResource describes this agent: service, host and OS. The environment
// comes last so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the
// built-in values, as operators expect from any OpenTelemetry program. A
// detector that fails (no machine-id in a minimal container) still leaves
// the others' attributes: then both the resource and a warning come back.
func newResource(ctx context.Context, version string) (res *resource.Resource, warning error) {
	if version == "" {
		version = "dev"
	}
	// A typo in the environment is the operator's to fix: fail, naming it.
	if _, err := resource.New(ctx, resource.WithFromEnv()); err != nil {
		return nil, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES or OTEL_SERVICE_NAME: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(semconv.ServiceName(ServiceName), semconv.ServiceVersion(version)),
		resource.WithHost(),
		resource.WithHostID(),
		resource.WithOSType(),
		resource.WithFromEnv(),
	)
	if res == nil {
		return nil, fmt.Errorf("describing the resource: %w", err)
	}
	return res, err
}

// hostKey is what makes call and stream IDs unique per agent: host.id (the
// machine-id), else host.name.
func hostKey(res *resource.Resource) string {
	for _, key := range []attribute.Key{semconv.HostIDKey, semconv.HostNameKey} {
		if v, ok := res.Set().Value(key); ok && v.AsString() != "" {
			return v.AsString()
		}
	}
	return "unknown-host"
}

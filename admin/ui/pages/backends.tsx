import type { BackendList } from "../../src/api-types.js";
import { ErrorAlert } from "../components/error-alert.js";
import { useFetch } from "../use-fetch.js";

/** `#/backends`: each backend's health (probed when the page loads or on Refresh). */
export function BackendsPage() {
  const { data, error, loading, reload } = useFetch<BackendList>("/api/backends");
  return (
    <>
      <header class="page-header">
        <h1>Backends</h1>
        <div class="toolbar">
          <button type="button" data-testid="refresh" onClick={reload} disabled={loading}>
            {loading ? "Refreshing…" : "Refresh"}
          </button>
        </div>
      </header>
      <ErrorAlert error={error} />
      {data ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Health</th>
                <th scope="col" class="num">
                  Probe
                </th>
                <th scope="col">Patterns</th>
                <th scope="col">Capabilities</th>
                <th scope="col">Circuit</th>
              </tr>
            </thead>
            <tbody>
              {data.backends.map((backend) => (
                <tr key={backend.name} data-testid={`backend-row-${backend.name}`}>
                  <th scope="row">{backend.name}</th>
                  <td>{backend.type}</td>
                  <td>
                    <span class={`health health-${backend.health}`}>
                      {backend.health === "serving"
                        ? "serving"
                        : backend.health === "not-serving"
                          ? "not serving"
                          : "unknown"}
                    </span>
                    {backend.healthMessage ? (
                      <span class="health-message"> {backend.healthMessage}</span>
                    ) : null}
                  </td>
                  <td class="num">{backend.latencyMs.toFixed(1)} ms</td>
                  <td>{backend.patterns.join(", ") || "—"}</td>
                  <td class="wrap">{backend.capabilities.join(", ") || "—"}</td>
                  <td>{backend.circuit ?? "—"}</td>
                </tr>
              ))}
              {data.backends.length === 0 ? (
                <tr>
                  <td colSpan={7} class="muted">
                    No backends.
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
      ) : loading ? (
        <p class="muted">Loading…</p>
      ) : null}
    </>
  );
}

import type { NamespaceView } from "../../src/api-types.js";
import { formatRate, formatTime } from "../format.js";
import { shadowText } from "../pages/namespaces.js";
import { href } from "../router.js";
import { useTrafficFeed } from "../traffic-feed.js";

/** A namespace's settings as a definition list, with its live rate and a link to its migration. */
export function NamespaceFields({ ns }: { ns: NamespaceView }) {
  const feed = useTrafficFeed();
  const rate = feed.available === undefined ? ns.requestRate : (feed.rates[ns.name] ?? 0);
  const limits = [
    ns.limits.rps !== undefined ? `${ns.limits.rps} req/s` : undefined,
    ns.limits.maxValueBytes !== undefined
      ? `values ≤ ${ns.limits.maxValueBytes.toLocaleString()} bytes`
      : undefined,
  ].filter(Boolean);
  return (
    <dl class="fields">
      <dt>Pattern</dt>
      <dd>{ns.pattern}</dd>
      <dt>Backend</dt>
      <dd>{ns.backend}</dd>
      <dt>Schema</dt>
      <dd>{ns.schema ?? "—"}</dd>
      <dt>Shadow</dt>
      <dd>
        {shadowText(ns.shadow)}
        {ns.shadow ? ` (sample rate ${ns.shadow.sampleRate})` : ""} ·{" "}
        <a href={href("migrations", ns.name)}>Migrations</a>
      </dd>
      <dt>Access</dt>
      <dd>
        read: {list(ns.access.read)}; write: {list(ns.access.write)}; pii: {list(ns.access.pii)}
      </dd>
      <dt>Limits</dt>
      <dd>{limits.length ? limits.join(", ") : "—"}</dd>
      {ns.retention ? (
        <>
          <dt>Retention</dt>
          <dd>{ns.retention}</dd>
        </>
      ) : null}
      <dt>Version</dt>
      <dd>
        {ns.version} (updated {formatTime(ns.updateTime)})
      </dd>
      <dt>Source</dt>
      <dd>{ns.source === "config" ? "gateway config file (read-only)" : "config store"}</dd>
      <dt>Requests/s</dt>
      <dd aria-live="polite">{formatRate(rate)}</dd>
    </dl>
  );
}

function list(items: readonly string[]): string {
  return items.length ? items.join(", ") : "—";
}

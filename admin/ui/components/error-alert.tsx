import { ApiFailure } from "../api.js";

/** The page's one error area: the server's message, reason and hint; nothing when there is no error. */
export function ErrorAlert({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (error === undefined || error === null) return null;
  const detail =
    error instanceof ApiFailure
      ? error.detail
      : { code: "ERROR", message: error instanceof Error ? error.message : String(error), violations: [] };
  return (
    <div class="alert" role="alert" data-testid="alert">
      <div class="alert-body">
        <strong>{detail.message}</strong>
        <span class="alert-code">
          {detail.code}
          {detail.reason ? ` · ${detail.reason}` : ""}
        </span>
        {detail.hint ? <p class="alert-hint">{detail.hint}</p> : null}
      </div>
      {onDismiss ? (
        <button type="button" class="link-button" onClick={onDismiss} aria-label="Dismiss error">
          ✕
        </button>
      ) : null}
    </div>
  );
}

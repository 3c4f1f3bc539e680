import type { AdminError } from "../errors.js";

export interface ErrorMessageProps {
  error: AdminError;
  /** Offered when the failed thing can simply be tried again (a load, not a refused write). */
  onRetry?: () => void;
}

/** role="alert": a refused write is announced at once, with the code the docs and logs use. */
export function ErrorMessage({ error, onRetry }: ErrorMessageProps) {
  return (
    <div role="alert" className="stratum-error">
      <code className="stratum-error-code">{error.code}</code> <span className="stratum-error-message">{error.message}</span>
      {onRetry ? (
        <>
          {" "}
          <button type="button" className="stratum-button" onClick={onRetry}>
            Retry
          </button>
        </>
      ) : null}
    </div>
  );
}

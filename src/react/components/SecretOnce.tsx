/** A secret shown once (a new API key, a webhook signing secret), with a copy button. */
export function SecretOnce({ label, secret, onDone }: { label: string; secret: string; onDone(): void }) {
  return (
    <div className="stratum-secret-once" role="region" aria-label={label}>
      <p>
        <strong>{label}</strong>: copy it now — it is shown only once and cannot be read again.
      </p>
      <code className="stratum-secret" data-testid="secret-once">
        {secret}
      </code>
      <div className="stratum-dialog-actions">
        <button type="button" className="stratum-button" onClick={() => void navigator.clipboard?.writeText(secret)}>
          Copy
        </button>
        <button type="button" className="stratum-button stratum-button--primary" onClick={onDone}>
          I have stored it
        </button>
      </div>
    </div>
  );
}

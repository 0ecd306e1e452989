import { HttpError } from "./http";

/**
 * What every coordinator RPC answers: a value, or a refusal the operator can act on (bad input,
 * unknown id, a conflict with the current state). Infrastructure failures are not refusals: they
 * are thrown, and surface as a 5xx with their cause logged.
 */
export type Outcome<T> = { ok: true; value: T } | Refusal;
export type Refusal = { ok: false; status: 400 | 404 | 409; error: string; field?: string };

export function refuse(status: Refusal["status"], error: string, field?: string): Refusal {
  return field === undefined ? { ok: false, status, error } : { ok: false, status, error, field };
}

/** The value of an outcome, or the HttpError its refusal becomes. */
export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new HttpError(outcome.status, outcome.error, outcome.field);
}

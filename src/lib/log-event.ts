/**
 * One structured log line (JSON) per job or cutover event, so that Workers Logs (wrangler.toml
 * `[observability]`) can filter and count them by field: `event`, `at`, then the event's own fields.
 */
export function logEvent(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ event, at: new Date().toISOString(), ...fields }));
}

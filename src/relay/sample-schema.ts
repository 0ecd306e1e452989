import { z } from "zod";
import { BACKENDS, STATUS_CLASSES, type BackendSample } from "../cutover/metrics-model";
import { HISTOGRAM_SIZE } from "../cutover/histogram";

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A gate's metric sample as a relay takes it: one the coordinator would choke on is dropped at the door. */
export const backendSampleSchema: z.ZodType<BackendSample> = z.object({
  backend: z.enum(BACKENDS),
  version: count,
  requests: count,
  errors: count,
  histogram: z.array(count).max(HISTOGRAM_SIZE),
  answered: z.array(count).length(STATUS_CLASSES.length).optional(),
  latencySumMs: z.number().min(0).max(Number.MAX_SAFE_INTEGER).optional(),
});

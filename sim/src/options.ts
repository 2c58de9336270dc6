import { z } from 'zod';
import { EnvOptionsError } from './env';

/** Parses env or reset options with a zod schema; errors name the env, the option and what was wrong. */
export function parseOptions<T extends z.ZodType>(envId: string, what: string, schema: T, value: unknown): z.infer<T> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const at = issue.path.length ? `${what} ${issue.path.join('.')}` : what;
    return `${at}: ${issue.message}`;
  });
  throw new EnvOptionsError(envId, problems.join('; '));
}

export { z };

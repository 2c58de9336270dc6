/** Error shapes of the API: 400s name the field and the reason. */
import { BadRequestException, NotFoundException, type ValidationError } from '@nestjs/common';

export function badField(field: string, reason: string): BadRequestException {
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', field, message: `${field}: ${reason}` });
}

export function notFound(what: string, id: string): NotFoundException {
  return new NotFoundException({ statusCode: 404, error: 'Not Found', message: `no ${what} with id ${JSON.stringify(id)}` });
}

function flatten(errors: ValidationError[], prefix = ''): { field: string; reason: string }[] {
  return errors.flatMap((e) => {
    const field = prefix ? `${prefix}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((reason) => ({ field, reason }));
    return [...own, ...flatten(e.children ?? [], field)];
  });
}

/** ValidationPipe's exceptionFactory: `{ field, message: "field: reason", errors: [...] }`. */
export function validationException(errors: ValidationError[]): BadRequestException {
  const all = flatten(errors);
  const first = all[0] ?? { field: '(body)', reason: 'invalid' };
  return new BadRequestException({ statusCode: 400, error: 'Bad Request', field: first.field, message: `${first.field}: ${first.reason}`, errors: all });
}

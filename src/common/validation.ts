import { ValidationError, ValidationPipe } from '@nestjs/common';
import { DomainError } from './domain-error';

const describe = (errors: ValidationError[], parent = ''): string[] =>
  errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    const own = Object.values(e.constraints ?? {}).map((c) => (c.startsWith(e.property) ? `${parent ? parent + '.' : ''}${c}` : `${path}: ${c}`));
    return [...own, ...describe(e.children ?? [], path)];
  });

/** Body validation: unknown fields and wrong types are 400 VALIDATION, nothing reaches Redis. */
export const validationPipe = () =>
  new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    stopAtFirstError: false,
    exceptionFactory: (errors) => new DomainError('VALIDATION', describe(errors).join('; ') || 'invalid request'),
  });

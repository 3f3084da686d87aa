import { Injectable, PipeTransform } from '@nestjs/common';
import { DomainError } from './domain-error';
import { ID_MESSAGE, ID_PATTERN } from './identifiers';

/** Validates an id path parameter before it can reach a Redis key. */
@Injectable()
export class IdParamPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (typeof value !== 'string' || !ID_PATTERN.test(value)) {
      throw new DomainError('VALIDATION', `id ${ID_MESSAGE}`);
    }
    return value;
  }
}

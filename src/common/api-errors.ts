import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiResponse } from '@nestjs/swagger';
import { ERROR_STATUS, ErrorCode } from './domain-error';

export class ErrorBodyDto {
  @ApiProperty({ example: 409 }) statusCode!: number;
  @ApiProperty({ enum: Object.keys(ERROR_STATUS), example: 'DUPLICATE' }) code!: string;
  @ApiProperty({ example: 'this user already has a ticket' }) message!: string;
}

/** Documents the error answers of a route in OpenAPI, grouped by status. */
export function ErrorResponses(...codes: (ErrorCode | [ErrorCode, number])[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  // [code, status] for a code whose status depends on the route (SOLD_OUT: 409 on a hold, 410 on a join).
  for (const entry of codes) {
    const [code, status] = Array.isArray(entry) ? entry : [entry, ERROR_STATUS[entry]];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return applyDecorators(
    ...[...byStatus].map(([status, list]) =>
      ApiResponse({
        status,
        type: ErrorBodyDto,
        description: `code: ${list.join(' | ')}`,
        // Every 503 and 429 says when to retry (docs/api.md §2).
        ...(status === 503 || status === 429 ? { headers: { 'Retry-After': { description: 'seconds to wait before retrying', schema: { type: 'integer' } } } } : {}),
      }),
    ),
  );
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Static, Type as Schema } from '@sinclair/typebox';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import { Type } from 'class-transformer';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifiers';

export class HoldDto {
  @ApiProperty() holdId!: string;
  @ApiProperty({ type: [String] }) seatIds!: string[];
  @ApiProperty({ description: 'ISO time; the seats return to sale then' }) expiresAt!: string;
}

export class ConfirmHoldDto {
  @ApiPropertyOptional({ maxLength: 128, description: 'your payment reference, copied into the order' })
  @IsOptional() @IsString() @MaxLength(128)
  paymentRef?: string;
}

export class TotalDto {
  @ApiProperty({ description: 'minor units (cents)', example: 15800 }) amount!: number;
  @ApiProperty({ example: 'EUR' }) currency!: string;
}

export class OrderDto {
  @ApiProperty() orderId!: string;
  @ApiProperty({ type: [String] }) seatIds!: string[];
  @ApiPropertyOptional({ type: TotalDto, description: 'for priced seats (layout events)' }) total?: TotalDto;
}

export class SeatQueryDto {
  @ApiPropertyOptional({ enum: ['available', 'held', 'sold'] })
  @IsOptional() @IsIn(['available', 'held', 'sold'])
  status?: 'available' | 'held' | 'sold';

  @ApiPropertyOptional({ description: 'nextCursor of the previous page' })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0)
  cursor?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000, default: 100 })
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'only seats of this section' })
  @IsOptional() @Matches(ID_PATTERN, { message: `sectionId ${ID_MESSAGE}` })
  sectionId?: string;

  @ApiPropertyOptional({ description: 'only seats of this price level (GA for events without a layout)' })
  @IsOptional() @Matches(ID_PATTERN, { message: `priceLevel ${ID_MESSAGE}` })
  priceLevel?: string;
}

export class SeatDto {
  @ApiProperty() seatId!: string;
  @ApiProperty({ enum: ['available', 'held', 'sold'] }) status!: string;
  @ApiPropertyOptional({ description: 'absent for events without a layout' }) sectionId?: string;
  @ApiPropertyOptional({ description: 'absent for events without a layout' }) rowId?: string;
  @ApiProperty({ description: 'GA for events without a layout' }) priceLevel!: string;
}

export class SeatPageDto {
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({ type: [SeatDto] }) seats!: SeatDto[];
  @ApiProperty({ nullable: true, type: Number, description: 'pass as cursor for the next page; null at the end' }) nextCursor!: number | null;
}

export class MismatchDto {
  @ApiProperty() kind!: string;
  @ApiProperty() detail!: string;
}

export class RecountDto {
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
}

export class AuditDto {
  @ApiProperty() ok!: boolean;
  @ApiProperty({ type: [MismatchDto] }) mismatches!: MismatchDto[];
  @ApiProperty({ type: RecountDto }) recount!: RecountDto;
  @ApiProperty({
    description:
      'true when no seat changed while the audit ran, so the counters, per-level and per-user counts were compared with the recount too; under steady traffic the per-seat checks still run and the audit is tried a few times',
  })
  totalsChecked!: boolean;
}

/**
 * The hold body, defined once: Fastify validates requests with this JSON
 * schema (compiled, on the hot path), HoldSeatsBody is its type, and the
 * OpenAPI document shows it as the component HoldSeatsDto (docs/decisions.md).
 */
export const HoldSeatsBody = Schema.Object(
  {
    seatIds: Schema.Optional(
      Schema.Array(Schema.String({ pattern: ID_PATTERN.source }), {
        minItems: 1,
        maxItems: 20,
        uniqueItems: true,
        description: 'named seats, all or nothing (1..maxSeatsPerUser)',
      }),
    ),
    quantity: Schema.Optional(
      Schema.Integer({ minimum: 1, maximum: 20, description: 'or: this many of the best available seats (section, row, seat order)' }),
    ),
    together: Schema.Optional(
      Schema.Boolean({ description: 'with quantity: the best run of `quantity` adjacent free seats in one row (layout events)' }),
    ),
    priceLevel: Schema.Optional(
      Schema.String({ pattern: ID_PATTERN.source, description: 'with quantity: only seats of this price level (layout events)' }),
    ),
    sectionId: Schema.Optional(Schema.String({ pattern: ID_PATTERN.source, description: 'with quantity: only seats of this section (layout events)' })),
  },
  { additionalProperties: false },
);
export type HoldSeatsBody = Static<typeof HoldSeatsBody>;

export const HOLD_SCHEMA = {
  body: HoldSeatsBody,
  response: {
    201: {
      type: 'object',
      properties: { holdId: { type: 'string' }, seatIds: { type: 'array', items: { type: 'string' } }, expiresAt: { type: 'string' } },
    },
  },
} as const;

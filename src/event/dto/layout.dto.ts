import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  Matches,
  Max,
  Min,
  ValidateBy,
  ValidateNested,
  ValidationOptions,
} from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifiers';

/** Most seats in one row (a seat's index is row x 4096 + position: lua/includes/layout.lua). */
export const MAX_ROW_SEATS = 4095;
/** Most price levels of an event (the run index has 63 level bands). */
export const MAX_PRICE_LEVELS = 63;

/** A row's `seats`: a count n (seats 1..n) or the seat numbers in physical order. */
function IsRowSeats(options?: ValidationOptions) {
  return ValidateBy(
    {
      name: 'isRowSeats',
      validator: {
        validate: (value: unknown) =>
          (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_ROW_SEATS) ||
          (Array.isArray(value) &&
            value.length >= 1 &&
            value.length <= MAX_ROW_SEATS &&
            new Set(value).size === value.length &&
            value.every((s) => typeof s === 'string' && ID_PATTERN.test(s))),
        defaultMessage: () =>
          `seats must be a count (1..${MAX_ROW_SEATS}) or 1..${MAX_ROW_SEATS} unique seat numbers, each ${ID_MESSAGE}`,
      },
    },
    options,
  );
}

export class PriceLevelDto {
  @ApiProperty({ pattern: ID_PATTERN.source, example: 'P1' })
  @Matches(ID_PATTERN, { message: `priceLevel ${ID_MESSAGE}` })
  priceLevel!: string;

  @ApiProperty({ minimum: 0, maximum: 100000000, example: 7900, description: 'price of one seat in minor units (cents)' })
  @IsInt() @Min(0) @Max(100_000_000)
  price!: number;

  @ApiProperty({ pattern: '^[A-Z]{3}$', example: 'EUR', description: 'ISO 4217 code; every level of an event has the same' })
  @Matches(/^[A-Z]{3}$/, { message: 'currency must be an ISO 4217 code such as EUR' })
  currency!: string;
}

export class LayoutRowDto {
  @ApiProperty({ pattern: ID_PATTERN.source, example: '1' })
  @Matches(ID_PATTERN, { message: `rowId ${ID_MESSAGE}` })
  rowId!: string;

  @ApiProperty({
    oneOf: [{ type: 'integer', minimum: 1, maximum: MAX_ROW_SEATS }, { type: 'array', items: { type: 'string', pattern: ID_PATTERN.source } }],
    example: 30,
    description: 'a count n (seats 1..n) or the seat numbers in physical order; consecutive entries are adjacent seats',
  })
  @IsRowSeats()
  seats!: number | string[];
}

export class SectionDto {
  @ApiProperty({ pattern: ID_PATTERN.source, example: 'A' })
  @Matches(ID_PATTERN, { message: `sectionId ${ID_MESSAGE}` })
  sectionId!: string;

  @ApiProperty({ pattern: ID_PATTERN.source, example: 'P1', description: 'one of the layout\'s priceLevels' })
  @Matches(ID_PATTERN, { message: `priceLevel ${ID_MESSAGE}` })
  priceLevel!: string;

  @ApiProperty({ type: [LayoutRowDto], description: 'rows, best first' })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100000) @ValidateNested({ each: true }) @Type(() => LayoutRowDto)
  rows!: LayoutRowDto[];
}

export class LayoutDto {
  @ApiProperty({ type: [PriceLevelDto] })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(MAX_PRICE_LEVELS) @ValidateNested({ each: true }) @Type(() => PriceLevelDto)
  priceLevels!: PriceLevelDto[];

  @ApiProperty({ type: [SectionDto], description: 'sections, best first; seat ids are <sectionId>-<rowId>-<seat>' })
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(10000) @ValidateNested({ each: true }) @Type(() => SectionDto)
  sections!: SectionDto[];
}

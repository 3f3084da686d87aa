import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifiers';

export class SectionQueryDto {
  @ApiPropertyOptional({ description: 'only this section' })
  @IsOptional() @Matches(ID_PATTERN, { message: `sectionId ${ID_MESSAGE}` })
  sectionId?: string;
}

export class SectionCountsDto {
  @ApiProperty({ example: 'A' }) sectionId!: string;
  @ApiProperty({ example: 'P1', description: 'GA for events without a layout' }) priceLevel!: string;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({ description: 'rows in the section (1 for GA)' }) rows!: number;
}

export class SectionsDto {
  @ApiProperty({ description: 'the seat version these counts are of' }) version!: number;
  @ApiProperty({ type: [SectionCountsDto], description: 'in section order; one section GA for events without a layout' }) sections!: SectionCountsDto[];
}

export class SeatStateDto {
  @ApiProperty({ description: "the event's seat version: every change to any seat raises it" }) version!: number;
  @ApiProperty({ enum: ['2bit-base64'] }) encoding!: string;
  @ApiProperty({ description: 'seat index (in seat order, from 0) of the first seat described' }) firstIndex!: number;
  @ApiProperty({ description: 'seats described' }) count!: number;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({
    description:
      'base64 (standard, padded) of ceil(count / 4) bytes: seat k of the range (seat index firstIndex + k) is ' +
      '(byte[k >> 2] >> ((k & 3) * 2)) & 3, 0 available, 1 held, 2 sold',
  })
  state!: string;
}

export class LayoutPriceLevelDto {
  @ApiProperty({ example: 'P1' }) priceLevel!: string;
  @ApiPropertyOptional({ description: 'minor units; absent for GA' }) price?: number;
  @ApiPropertyOptional({ example: 'EUR' }) currency?: string;
}

/** (Not LayoutRowDto: that name is the create-event layout's row, and OpenAPI schemas are named by class, so one would replace the other.) */
export class SeatRowDto {
  @ApiProperty() rowId!: string;
  @ApiProperty({ type: [String], description: 'in seat order' }) seatIds!: string[];
}

export class LayoutSectionDto {
  @ApiProperty() sectionId!: string;
  @ApiProperty() priceLevel!: string;
  @ApiProperty({ description: "seat index (in seat order, from 0) of the section's first seat" }) firstIndex!: number;
  @ApiProperty() count!: number;
  @ApiProperty({ type: [SeatRowDto] }) rows!: SeatRowDto[];
}

export class SeatLayoutDto {
  @ApiProperty() eventId!: string;
  @ApiProperty() capacity!: number;
  @ApiProperty({ type: [LayoutPriceLevelDto] }) priceLevels!: LayoutPriceLevelDto[];
  @ApiProperty({ type: [LayoutSectionDto] }) sections!: LayoutSectionDto[];
}

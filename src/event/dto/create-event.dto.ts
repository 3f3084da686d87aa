import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  Matches,
  Max,
  Min,
  ValidateNested,
} from 'class-validator';
import { ID_MESSAGE, ID_PATTERN } from '../../common/identifiers';
import { UniqueItems } from '../../common/unique-items';
import { LayoutDto } from './layout.dto';

export class AdmissionDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100000, default: 50, description: 'users admitted per second, across all replicas' })
  @IsOptional() @IsInt() @Min(1) @Max(100000)
  ratePerSecond?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 1000000, default: 1000, description: 'most admitted sessions at once' })
  @IsOptional() @IsInt() @Min(1) @Max(1000000)
  maxActive?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 7200, default: 600, description: 'how long an admitted session lasts' })
  @IsOptional() @IsInt() @Min(1) @Max(7200)
  sessionTtlSeconds?: number;
}

export class CreateEventDto {
  @ApiProperty({ pattern: ID_PATTERN.source, example: 'concert-2026' })
  @Matches(ID_PATTERN, { message: `eventId ${ID_MESSAGE}` })
  eventId!: string;

  @ApiPropertyOptional({ type: [String], description: 'seat ids (1..100000, unique); or give capacity or layout' })
  @IsOptional() @IsArray() @ArrayMinSize(1) @ArrayMaxSize(100000) @UniqueItems()
  @Matches(ID_PATTERN, { each: true, message: `each seat id ${ID_MESSAGE}` })
  seats?: string[];

  @ApiPropertyOptional({ minimum: 1, maximum: 100000, description: 'number of seats, named GA-1..GA-n; or give seats or layout' })
  @IsOptional() @IsInt() @Min(1) @Max(100000)
  capacity?: number;

  @ApiPropertyOptional({ type: LayoutDto, description: 'a venue: price levels and sections of rows (up to 100000 seats); or give seats or capacity' })
  @IsOptional() @ValidateNested() @Type(() => LayoutDto)
  layout?: LayoutDto;

  @ApiPropertyOptional({ minimum: 1, maximum: 3600, default: 300 })
  @IsOptional() @IsInt() @Min(1) @Max(3600)
  holdTtlSeconds?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 20, default: 4 })
  @IsOptional() @IsInt() @Min(1) @Max(20)
  maxSeatsPerUser?: number;

  @ApiPropertyOptional({ type: AdmissionDto })
  @IsOptional() @ValidateNested() @Type(() => AdmissionDto)
  admission?: AdmissionDto;

  @ApiPropertyOptional({ enum: ['streams', 'zset'], description: 'queue backend; default from the streamsQueue flag' })
  @IsOptional() @IsIn(['streams', 'zset'])
  queue?: 'streams' | 'zset';
}

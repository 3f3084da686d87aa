import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { QUEUE_METHODS, QueueMethod } from '../event-status';
import { AdmissionDto } from './create-event.dto';

export class UpdateEventDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 3600 })
  @IsOptional() @IsInt() @Min(1) @Max(3600)
  holdTtlSeconds?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 20 })
  @IsOptional() @IsInt() @Min(1) @Max(20)
  maxSeatsPerUser?: number;

  @ApiPropertyOptional({ type: AdmissionDto })
  @IsOptional() @ValidateNested() @Type(() => AdmissionDto)
  admission?: AdmissionDto;

  @ApiPropertyOptional({ description: 'pauses admission; joins go on' })
  @IsOptional() @IsBoolean()
  paused?: boolean;

  @ApiPropertyOptional({ enum: QUEUE_METHODS, description: 'switching moves nobody: those waiting keep their place' })
  @IsOptional() @IsIn(QUEUE_METHODS)
  queueMethod?: QueueMethod;
}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsBoolean, IsIn, IsInt, IsISO8601, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import { UniqueItems } from '../../common/unique-items';
import { IsExactOrigin } from '../../common/web-origin';
import { QUEUE_METHODS, QueueMethod } from '../event-status';
import { AdmissionDto, ChallengeSettingsDto, INSTANT, INSTANT_MESSAGE, MAX_REDIRECT_ORIGINS, REDIRECT_ORIGINS_DOC } from './create-event.dto';

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

  @ApiPropertyOptional({ type: ChallengeSettingsDto, description: 'changes the join challenge; challenges issued easier than the new difficulty are refused' })
  @IsOptional() @ValidateNested() @Type(() => ChallengeSettingsDto)
  challenge?: ChallengeSettingsDto;

  @ApiPropertyOptional({ description: 'pauses admission; joins go on' })
  @IsOptional() @IsBoolean()
  paused?: boolean;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    nullable: true,
    description: 'from then on the event is closed (a past time closes it now); null removes the end',
  })
  @IsOptional() @IsISO8601({ strict: true }, { message: `endsAt ${INSTANT_MESSAGE}` }) @Matches(INSTANT, { message: `endsAt ${INSTANT_MESSAGE}` })
  endsAt?: string | null;
  @ApiPropertyOptional({ enum: QUEUE_METHODS, description: 'switching moves nobody: those waiting keep their place' })
  @IsOptional() @IsIn(QUEUE_METHODS)
  queueMethod?: QueueMethod;

  @ApiPropertyOptional({ ...REDIRECT_ORIGINS_DOC, description: `${REDIRECT_ORIGINS_DOC.description} Replaces the list; [] removes every origin.` })
  @IsOptional() @IsArray() @ArrayMaxSize(MAX_REDIRECT_ORIGINS) @UniqueItems() @IsExactOrigin()
  redirectOrigins?: string[];
}

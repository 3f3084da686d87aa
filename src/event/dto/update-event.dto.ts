import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Max, Min, ValidateNested } from 'class-validator';
import { AdmissionDto, ChallengeSettingsDto } from './create-event.dto';

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
}

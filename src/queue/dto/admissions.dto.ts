import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { ADMISSIONS_MAX_COUNT } from '../admitter';

export class AdmissionsDto {
  @ApiProperty({ minimum: 1, maximum: ADMISSIONS_MAX_COUNT, description: 'how many of those waiting to admit now, in queue order' })
  @IsInt() @Min(1) @Max(ADMISSIONS_MAX_COUNT)
  count!: number;
}

export class AdmissionsView {
  @ApiProperty({ description: 'people admitted by this call (fewer than count when fewer wait)' }) admitted!: number;
  @ApiProperty({ description: 'the last arrival number whose turn has come (the queue head after this call)' }) admittedThrough!: number;
}

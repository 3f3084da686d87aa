import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';

export class SetFlagDto {
  @ApiProperty() @IsBoolean() enabled!: boolean;
}

export class FlagDto {
  @ApiProperty({ enum: ['streamsQueue', 'luaAtomic'] }) name!: string;
  @ApiProperty() enabled!: boolean;
  @ApiProperty({ enum: ['default', 'env', 'override'] }) source!: string;
}

export class FlagListDto {
  @ApiProperty({ type: [FlagDto] }) flags!: FlagDto[];
}

import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

export class LevelView {
  @ApiProperty({ example: 'P1' }) priceLevel!: string;
  @ApiPropertyOptional({ description: 'minor units; absent for GA (no layout)' }) price?: number;
  @ApiPropertyOptional({ example: 'EUR' }) currency?: string;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
}

export class AdmissionConfigView {
  @ApiProperty() ratePerSecond!: number;
  @ApiProperty() maxActive!: number;
  @ApiProperty() sessionTtlSeconds!: number;
}

export class EventConfigView {
  @ApiProperty() holdTtlSeconds!: number;
  @ApiProperty() maxSeatsPerUser!: number;
  @ApiProperty({ type: AdmissionConfigView }) admission!: AdmissionConfigView;
  @ApiProperty() paused!: boolean;
}

export class EventView {
  @ApiProperty() eventId!: string;
  @ApiProperty({ enum: ['streams', 'zset'] }) queue!: 'streams' | 'zset';
  @ApiProperty() capacity!: number;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({ description: 'users waiting in the queue' }) waiting!: number;
  @ApiProperty({ description: 'admitted sessions not yet over' }) active!: number;
  @ApiProperty({ type: [LevelView], description: 'per price level; one level GA without a price for events without a layout' }) levels!: LevelView[];
  @ApiProperty({ type: EventConfigView }) config!: EventConfigView;
}

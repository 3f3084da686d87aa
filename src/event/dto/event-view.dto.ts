import { EventStatus } from '../event-status';
import { ApiProperty } from '@nestjs/swagger';

export class AdmissionConfigView {
  @ApiProperty() ratePerSecond!: number;
  @ApiProperty() maxActive!: number;
  @ApiProperty() sessionTtlSeconds!: number;
}

export class AdmissionRatesView {
  @ApiProperty({ description: 'admission.ratePerSecond as configured' }) configuredRatePerSecond!: number;
  @ApiProperty({ type: Number, nullable: true, description: 'admissions per second over the last minute; null before the first admission' })
  observedRatePerSecond!: number | null;
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
  @ApiProperty({ enum: ['open', 'paused', 'soldOut'], description: 'soldOut: no seat available and none held; nobody more is admitted, joins get 410' })
  status!: EventStatus;
  @ApiProperty() capacity!: number;
  @ApiProperty() available!: number;
  @ApiProperty() held!: number;
  @ApiProperty() sold!: number;
  @ApiProperty({ description: 'users waiting in the queue' }) waiting!: number;
  @ApiProperty({ description: 'admitted sessions not yet over' }) active!: number;
  @ApiProperty({ type: AdmissionRatesView }) admission!: AdmissionRatesView;
  @ApiProperty({ type: EventConfigView }) config!: EventConfigView;
}

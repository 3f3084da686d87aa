import { Module } from '@nestjs/common';
import { RequestLogger } from './request-logger';

@Module({ providers: [RequestLogger] })
export class LoggingModule {}

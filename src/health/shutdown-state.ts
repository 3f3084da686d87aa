import { Injectable } from '@nestjs/common';

/** Set when SIGTERM arrives: readiness answers 503 from then on, so endpoints drain first. */
@Injectable()
export class ShutdownState {
  shuttingDown = false;
}

import { Module } from '@nestjs/common';
import { createSecretKey } from 'node:crypto';
import { ConfigType } from '@nestjs/config';
import { JwtModule } from '@nestjs/jwt';
import { authConfig } from '../config/configuration';
import { AccessTokenGuard } from './access-token.guard';
import { AccessTokenService } from './access-token.service';

@Module({
  imports: [
    JwtModule.registerAsync({
      inject: [authConfig.KEY],
      useFactory: (auth: ConfigType<typeof authConfig>) => ({
        // A KeyObject, not a string: given a string, jsonwebtoken first tries
        // it as a public key on every call (~800 µs per sign or verify in a
        // profile of the hold route, against ~10 µs with a KeyObject).
        secret: createSecretKey(Buffer.from(auth.accessTokenSecret)),
        signOptions: { algorithm: 'HS256' },
      }),
    }),
  ],
  providers: [AccessTokenService, AccessTokenGuard],
  exports: [AccessTokenService, AccessTokenGuard],
})
export class AccessTokenModule {}

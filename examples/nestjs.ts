/**
 * The smallest NestJS API protected by bearer-guard: every route of the controller needs a valid
 * token, and /files needs the Files.Read scope. Point it at your issuer and run it:
 *
 *   ISSUER=https://issuer.example/ AUDIENCE=api://orders \
 *   JWKS_URI=https://issuer.example/.well-known/jwks.json npx tsx examples/nestjs.ts
 *   curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:3000/files
 *
 * PORT (default 3000) and HOST (default 127.0.0.1) choose where it listens; PORT=0 takes a free
 * port. It prints the URL once it listens. Nest decorators need `experimentalDecorators` in
 * tsconfig.json; with no `emitDecoratorMetadata` (tsx, esbuild, vitest), inject with
 * `@Inject(...)` rather than by constructor types.
 */
import { Controller, Get, Module, UseGuards } from '@nestjs/common'
import { NestFactory } from '@nestjs/core'
// In an application: import { ... } from 'bearer-guard/nestjs'
import {
  Auth,
  type AuthInfo,
  BearerAuthGuard,
  BearerGuardModule,
  RequireScopes,
} from '../adapters/nestjs.js'

const { ISSUER, AUDIENCE, JWKS_URI, PORT = '3000', HOST = '127.0.0.1' } = process.env
if (!ISSUER || !AUDIENCE || !JWKS_URI) {
  console.error('Set ISSUER, AUDIENCE and JWKS_URI (see the top of examples/nestjs.ts).')
  process.exit(1)
}

@Controller()
@UseGuards(BearerAuthGuard)
class FilesController {
  @Get('me')
  me(@Auth() auth: AuthInfo) {
    return { subject: auth.subject, scopes: auth.scopes, appOnly: auth.appOnly }
  }

  @Get('files')
  @RequireScopes('Files.Read')
  files() {
    return { files: ['q3-report.xlsx'] }
  }
}

@Module({
  // Also registers the filter that answers rejections with their status and WWW-Authenticate.
  imports: [BearerGuardModule.forRoot({ issuer: ISSUER, audience: AUDIENCE, jwksUri: JWKS_URI })],
  controllers: [FilesController],
})
class AppModule {}

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] })
await app.listen(Number(PORT), HOST)
console.log(`listening on ${await app.getUrl()}`)

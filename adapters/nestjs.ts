/**
 * NestJS 10 and 11 glue (Express platform): `BearerGuardModule` provides one validator,
 * `BearerAuthGuard` hands the request to the core (`validator.decide(req)`: every header line as sent),
 * puts the result on `req.auth` and applies the route's `@RequireScopes(...)`-style requirements,
 * and `BearerGuardExceptionFilter` answers each rejection with its status and headers
 * (`WWW-Authenticate`, or `Retry-After` on a 503; RFC 6750 §3).
 *
 * The filter is the one place an adapter writes a response: Nest's default filter knows only its
 * own `HttpException`, so it would drop the headers and log every rejection with a stack trace.
 * It copies `err.status` and `err.headers` as they are, and decides nothing.
 *
 * About 167 lines of code where the other adapters need under 80: Nest asks for a module (with
 * its `forRoot`/`forRootAsync` providers), an injectable guard class, an exception filter, a
 * parameter decorator and decorators that store requirements as metadata, and the guard sets the
 * decision's headers through Nest's HTTP adapter. That is Nest's own ceremony; the token
 * decisions are the core's (`validator.decide`, `checkGuard`, the RFC 9728 answer), as elsewhere.
 *
 * @module bearer-guard/nestjs
 */
import { STATUS_CODES } from 'node:http'
import {
  type ArgumentsHost,
  type CanActivate,
  Catch,
  createParamDecorator,
  type DynamicModule,
  type ExceptionFilter,
  type ExecutionContext,
  type FactoryProvider,
  Inject,
  Injectable,
  Module,
  type ModuleMetadata,
  Optional,
  type Provider,
  SetMetadata,
  UseGuards,
} from '@nestjs/common'
import { APP_FILTER, HttpAdapterHost, Reflector } from '@nestjs/core'
import type {
  AuthenticateOptions,
  AuthInfo,
  Guard,
  Validator,
  ValidatorOptions,
} from '../src/index.js'
import * as core from '../src/index.js'
import { type NodeMetadataHandler, nodeMetadataHandler } from './node-metadata.js'

export type { AuthenticateOptions, AuthInfo, Validator, ValidatorOptions } from '../src/index.js'
export type { NodeMetadataHandler } from './node-metadata.js'

/**
 * Injection token of the module's {@link Validator}, for services that verify tokens themselves.
 *
 * @example
 * ```ts
 * constructor(@Inject(BEARER_GUARD_VALIDATOR) private readonly validator: Validator) {}
 * ```
 */
export const BEARER_GUARD_VALIDATOR = 'bearer-guard:validator'

/** Injection token of the {@link AuthenticateOptions} given to the module. */
export const BEARER_GUARD_OPTIONS = 'bearer-guard:options'

const REQUIREMENTS = 'bearer-guard:requirements'
const metadata = new Reflector()
// Requests this guard has authenticated: it may run twice (class and method), it verifies once.
const authenticated = new WeakSet<object>()

/** The part of the request {@link BearerAuthGuard} reads and writes. */
export interface BearerGuardRequest extends core.NodeRequestLike {
  readonly rawHeaders: string[]
  /** The verified token; `undefined` for an anonymous request when credentials are optional. */
  auth?: AuthInfo
}

/**
 * A guard that verifies the Bearer token (RFC 6750 §2.1), sets `req.auth`, then applies the
 * class's and the handler's `@RequireScopes(...)`, `@RequireRoles(...)` and
 * `@RequireScopesOrRoles(...)` requirements. Rejections are thrown as bearer-guard errors (400,
 * 401, 403, 503) for {@link BearerGuardExceptionFilter}. Needs {@link BearerGuardModule}.
 *
 * @example
 * ```ts
 * @Controller('files')
 * @UseGuards(BearerAuthGuard)
 * export class FilesController {}
 * // Or for every route: providers: [{ provide: APP_GUARD, useClass: BearerAuthGuard }]
 * ```
 */
@Injectable()
export class BearerAuthGuard implements CanActivate {
  constructor(
    @Inject(BEARER_GUARD_VALIDATOR) private readonly validator: Validator,
    @Inject(BEARER_GUARD_OPTIONS) private readonly options: AuthenticateOptions,
    @Inject(Reflector) private readonly reflector: Reflector,
    @Optional() @Inject(HttpAdapterHost) private readonly adapterHost?: HttpAdapterHost,
  ) {}

  /** Authenticates the request (once, however often the guard is applied) and checks its requirements. */
  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<BearerGuardRequest>()
    if (!authenticated.has(request)) {
      const pending = this.validator.decide(request, this.options)
      const decision = pending instanceof Promise ? await pending : pending
      if (decision.headers !== undefined && this.adapterHost !== undefined) {
        const response = context.switchToHttp().getResponse<unknown>()
        for (const [name, value] of Object.entries(decision.headers)) {
          this.adapterHost.httpAdapter.setHeader(response, name, value)
        }
      }
      if (decision.error !== undefined) throw decision.error
      request.auth = decision.auth
      authenticated.add(request)
    }
    const targets = [context.getClass(), context.getHandler()]
    for (const guards of this.reflector.getAll<Array<Guard[] | undefined>>(REQUIREMENTS, targets)) {
      for (const guard of guards ?? []) {
        const denied = core.checkGuard(guard, request.auth)
        if (denied !== undefined) throw denied
      }
    }
    return true
  }
}

/**
 * Answers every bearer-guard error with its status and headers (`WWW-Authenticate`, RFC 6750 §3;
 * `Retry-After` on a 503) and a JSON body `{ statusCode, error, message }`, where the message is
 * the public description for a 4xx and the status text for a 503. Never a stack trace, never a
 * log line. {@link BearerGuardModule} registers it for the whole application; a filter of your
 * own for `BearerGuardError` must copy `err.headers` the same way.
 *
 * @example
 * ```ts
 * // Registered by BearerGuardModule.forRoot(); without the module:
 * app.useGlobalFilters(new BearerGuardExceptionFilter(app.get(HttpAdapterHost)))
 * ```
 */
@Catch(core.BearerGuardError)
export class BearerGuardExceptionFilter implements ExceptionFilter<core.BearerGuardError> {
  constructor(@Inject(HttpAdapterHost) private readonly adapterHost: HttpAdapterHost) {}

  /** Writes the error's status, headers and a JSON body through Nest's HTTP adapter. */
  catch(error: core.BearerGuardError, host: ArgumentsHost): void {
    const { httpAdapter } = this.adapterHost
    const response = host.switchToHttp().getResponse<unknown>()
    for (const [name, value] of Object.entries(error.headers)) {
      httpAdapter.setHeader(response, name, value)
    }
    const statusText = STATUS_CODES[error.status]
    const body = {
      statusCode: error.status,
      error: error.code ?? statusText,
      message: error.expose ? error.message : statusText,
    }
    httpAdapter.reply(response, body, error.status)
  }
}

/** What the `@Require...()` decorators return: a decorator for a controller class or a handler. */
export type RequirementDecorator = ClassDecorator & MethodDecorator

/** Stores a core guard as a requirement of a class or handler, and makes sure the guard runs. */
function requirement(guard: Guard): RequirementDecorator {
  return (target: object, key?: string | symbol, descriptor?: PropertyDescriptor) => {
    const holder = (descriptor?.value as object | undefined) ?? target
    const guards = metadata.get<Guard[] | undefined>(REQUIREMENTS, holder as () => void) ?? []
    const decorators: RequirementDecorator[] = [SetMetadata(REQUIREMENTS, [...guards, guard])]
    // A requirement brings its guard along, so a route can never carry one unchecked.
    if (guards.length === 0) decorators.push(UseGuards(BearerAuthGuard))
    for (const decorate of decorators) {
      if (descriptor === undefined) (decorate as ClassDecorator)(target as () => void)
      else (decorate as MethodDecorator)(target, key as string | symbol, descriptor)
    }
  }
}

const requirements = core.createGuards(requirement)

/** {@inheritDoc bearer-guard!GuardFactories#requireScopes} */
export const RequireScopes = requirements.requireScopes
/** {@inheritDoc bearer-guard!GuardFactories#requireAnyScope} */
export const RequireAnyScope = requirements.requireAnyScope
/** {@inheritDoc bearer-guard!GuardFactories#requireRoles} */
export const RequireRoles = requirements.requireRoles
/** {@inheritDoc bearer-guard!GuardFactories#requireAnyRole} */
export const RequireAnyRole = requirements.requireAnyRole
/** {@inheritDoc bearer-guard!GuardFactories#requireScopesOrRoles} */
export const RequireScopesOrRoles = requirements.requireScopesOrRoles
/** {@inheritDoc bearer-guard!GuardFactories#requireClaims} */
export const RequireClaims = requirements.requireClaims
/** {@inheritDoc bearer-guard!GuardFactories#requireAuthContext} */
export const RequireAuthContext = requirements.requireAuthContext
/** {@inheritDoc bearer-guard!GuardFactories#requireStepUp} */
export const RequireStepUp = requirements.requireStepUp

/**
 * Handler parameter decorator giving the request's {@link AuthInfo} (`undefined` for an
 * anonymous request when credentials are optional).
 *
 * @example
 * ```ts
 * @Get('me')
 * me(@Auth() auth: AuthInfo) {
 *   return { subject: auth.subject }
 * }
 * ```
 */
export const Auth: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext) =>
    context.switchToHttp().getRequest<BearerGuardRequest>().auth,
)

/** Options of {@link BearerGuardModule.forRootAsync}. */
export interface BearerGuardModuleAsyncOptions extends AuthenticateOptions {
  /** Modules whose providers `useFactory` needs (a `ConfigModule`, say). */
  imports?: ModuleMetadata['imports']
  /** Providers passed to `useFactory`, in order. */
  inject?: FactoryProvider['inject']
  /** Returns validator options, or a validator, possibly asynchronously. */
  useFactory(...args: never[]): ValidatorOptions | Validator | Promise<ValidatorOptions | Validator>
}

function bearerGuardModule(
  validator: Provider[],
  options: AuthenticateOptions,
  imports: ModuleMetadata['imports'] = [],
): DynamicModule {
  return {
    module: BearerGuardModule,
    global: true,
    imports,
    providers: [
      ...validator,
      // A copy: changing the caller's object later must not change what the guard accepts.
      {
        provide: BEARER_GUARD_OPTIONS,
        useValue: { credentialsRequired: options.credentialsRequired },
      },
      BearerAuthGuard,
      { provide: APP_FILTER, useClass: BearerGuardExceptionFilter },
    ],
    exports: [BEARER_GUARD_VALIDATOR, BEARER_GUARD_OPTIONS, BearerAuthGuard],
  }
}

/**
 * The module to import once, in the root module: it provides the validator to
 * {@link BearerAuthGuard} everywhere (a global module) and registers
 * {@link BearerGuardExceptionFilter} for the application.
 *
 * @example
 * ```ts
 * @Module({
 *   imports: [BearerGuardModule.forRoot({ issuer, audience: 'api://orders', jwksUri })],
 *   controllers: [FilesController],
 * })
 * export class AppModule {}
 * ```
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static factories.
export class BearerGuardModule {
  /**
   * Takes validator options or an existing validator (one key cache for the whole application).
   * Options are checked here, so a misspelt option throws a `TypeError` at startup. With
   * `{ credentialsRequired: false }` (default `true`), a request without Bearer credentials passes
   * with `req.auth` undefined; a bad token is still refused, and a requirement answers 401.
   *
   * @example
   * ```ts
   * BearerGuardModule.forRoot(azureAd({ tenant, clientId }))
   * ```
   */
  static forRoot(
    optionsOrValidator: ValidatorOptions | Validator,
    options: AuthenticateOptions = {},
  ): DynamicModule {
    const validator = core.toValidator(optionsOrValidator)
    return bearerGuardModule([{ provide: BEARER_GUARD_VALIDATOR, useValue: validator }], options)
  }

  /**
   * Like {@link BearerGuardModule.forRoot}, with the options made by a factory that may use other
   * providers (configuration read at startup).
   *
   * @example
   * ```ts
   * BearerGuardModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({
   *     issuer: config.getOrThrow('ISSUER'),
   *     audience: config.getOrThrow('AUDIENCE'),
   *     jwksUri: config.getOrThrow('JWKS_URI'),
   *   }),
   * })
   * ```
   */
  static forRootAsync(options: BearerGuardModuleAsyncOptions): DynamicModule {
    const { useFactory } = options
    const provider = {
      provide: BEARER_GUARD_VALIDATOR,
      inject: options.inject ?? [],
      useFactory: async (...args: never[]) => core.toValidator(await useFactory(...args)),
    }
    return bearerGuardModule([provider], options, options.imports)
  }
}

/**
 * Middleware that serves the validator's RFC 9728 protected-resource metadata at
 * `/.well-known/oauth-protected-resource` and its path-suffixed form (§3.1), for
 * `app.use(...)` in `main.ts` or a module's `configure(consumer)`: GET and HEAD get the JSON
 * document, OPTIONS a CORS answer, other methods 405; other paths go on. Middleware runs before
 * guards, so the metadata stays public. Needs the `resourceMetadata` option.
 *
 * @example
 * ```ts
 * const app = await NestFactory.create(AppModule)
 * app.use(protectedResourceMetadata(app.get(BEARER_GUARD_VALIDATOR)))
 * ```
 */
export function protectedResourceMetadata(
  optionsOrValidator: ValidatorOptions | Validator,
): NodeMetadataHandler {
  return nodeMetadataHandler(optionsOrValidator)
}

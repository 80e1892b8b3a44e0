// Admin operations on users: list and search, create, role, disable/enable, password reset, second
// factors, sign out everywhere, delete, and a user's sessions and grants. The revoking actions are
// oauth/lifecycle.ts (LC-01), which records their events (user.disabled, …, with the acting admin).
import { randomUUID } from 'node:crypto';
import { canonicalUsername, isUniqueViolation, type Session, type User, type UserRole } from '../../storage/index.js';
import {
  deleteUser,
  disableUser,
  enableUser,
  listGrants,
  passwordProblem,
  revokeGrant,
  setUserPassword,
  signOutEverywhere,
  type GrantView,
  type LifecycleResult,
} from '../lifecycle.js';
import { hashPassword } from '../passwords.js';
import { atomically, revokeSelected } from '../tokens/revocation.js';
import { badInput, conflict, lifecycleDeps, notFound, recordAdminEvent, type AdminContext } from './context.js';

export const USERNAME_PATTERN = /^[A-Za-z0-9._@+-]{1,255}$/;
export const EMAIL_PATTERN = /^[^\s@<>"]+@[^\s@<>"]+\.[^\s@<>"]+$/;
export const ADMIN_ROLE: UserRole = 'admin';

/** A user as the admin API shows it: never the password hash. */
export interface UserView {
  id: string;
  username: string;
  email: string | null;
  name: string | null;
  disabled: boolean;
  admin: boolean;
  created_at: number;
  updated_at: number;
}

export function userView(user: User): UserView {
  return {
    id: user.id,
    username: user.username,
    email: user.email,
    name: user.name,
    disabled: user.disabled,
    admin: user.role === ADMIN_ROLE,
    created_at: user.createdAt,
    updated_at: user.updatedAt,
  };
}

export function isAdmin(user: Pick<User, 'role' | 'disabled'>): boolean {
  return user.role === ADMIN_ROLE && !user.disabled;
}

/** Users whose username, name or email contains `q` (case-insensitive), in creation order. */
export async function listUsers(ctx: Pick<AdminContext, 'storage'>, filter: { q?: string | undefined } = {}): Promise<UserView[]> {
  const q = filter.q?.trim().toLowerCase();
  const users = await ctx.storage.users.list();
  const matched = q
    ? users.filter((u) => [u.username, u.name ?? '', u.email ?? ''].some((field) => field.toLowerCase().includes(q)))
    : users;
  return matched.map(userView);
}

export async function findUser(ctx: Pick<AdminContext, 'storage'>, id: string): Promise<User> {
  const user = id.length <= 255 ? await ctx.storage.users.findById(id) : undefined;
  if (!user) throw notFound('user');
  return user;
}

export async function findUserByName(ctx: Pick<AdminContext, 'storage'>, username: string): Promise<User> {
  const user = username.length <= 255 ? await ctx.storage.users.findByUsername(username) : undefined;
  if (!user) throw notFound('user');
  return user;
}

export interface NewUser {
  username: string;
  password: string;
  email?: string | undefined;
  name?: string | undefined;
  admin?: boolean | undefined;
}

/** Creates a user (UN-01 canonical name, argon2id password); records user.created. */
export async function createUser(ctx: AdminContext, input: NewUser): Promise<UserView> {
  if (!USERNAME_PATTERN.test(input.username)) throw badInput('a username has 1 to 255 letters, digits or . _ @ + -');
  if (input.email !== undefined && !EMAIL_PATTERN.test(input.email)) throw badInput('email is not an email address');
  if (input.name !== undefined && (input.name.length === 0 || input.name.length > 255))
    throw badInput('name must have 1 to 255 characters');
  const problem = passwordProblem(input.password);
  if (problem) throw badInput(problem);
  if (await ctx.storage.users.findByUsername(input.username)) throw conflict('a user with that username already exists');
  const user: User = {
    id: randomUUID(),
    username: canonicalUsername(input.username),
    passwordHash: await hashPassword(input.password),
    email: input.email ?? null,
    name: input.name ?? null,
    claims: {},
    disabled: false,
    createdAt: ctx.now,
    updatedAt: ctx.now,
    role: input.admin === true ? ADMIN_ROLE : null,
  };
  try {
    await ctx.storage.users.create(user);
  } catch (e) {
    if (isUniqueViolation(e)) throw conflict('a user with that username already exists');
    throw e;
  }
  await recordAdminEvent(ctx, { type: 'user.created', userId: user.id, username: user.username, details: { role: user.role } });
  return userView(user);
}

/** An admin may not lock themselves out through the API or console (the CLI may do anything). */
function refuseSelf(ctx: AdminContext, userId: string, what: string): void {
  if (ctx.actor.by === 'admin' && ctx.actor.userId === userId)
    throw conflict(`an admin cannot ${what} their own account here; use the gatehouse CLI`);
}

/** Gives or takes the admin role; records admin.role_granted / admin.role_revoked (only when it changes). */
export async function setAdmin(ctx: AdminContext, userId: string, on: boolean): Promise<UserView> {
  const user = await findUser(ctx, userId);
  if (!on) refuseSelf(ctx, userId, 'remove the admin role of');
  const role = on ? ADMIN_ROLE : null;
  await ctx.storage.users.setRole(userId, role, ctx.now);
  await recordAdminEvent(ctx, {
    type: on ? 'admin.role_granted' : 'admin.role_revoked',
    userId,
    username: user.username,
    details: { role: ADMIN_ROLE, changed: (user.role ?? null) !== role },
  });
  return userView({ ...user, role, updatedAt: ctx.now });
}

export async function setUserDisabled(ctx: AdminContext, userId: string, disabled: boolean): Promise<LifecycleResult> {
  if (disabled) refuseSelf(ctx, userId, 'disable');
  const result = await (disabled ? disableUser : enableUser)(lifecycleDeps(ctx), userId);
  if (!result) throw notFound('user');
  return result;
}

export async function removeUser(ctx: AdminContext, userId: string): Promise<LifecycleResult> {
  refuseSelf(ctx, userId, 'delete');
  const result = await deleteUser(lifecycleDeps(ctx), userId);
  if (!result) throw notFound('user');
  return result;
}

/** An operator's password reset: the new password, and everything of the user revoked unless `keepSessions`. */
export async function resetPassword(ctx: AdminContext, userId: string, password: string, keepSessions = false): Promise<LifecycleResult> {
  const problem = passwordProblem(password);
  if (problem) throw badInput(problem);
  const result = await setUserPassword(lifecycleDeps(ctx), userId, password, { signOut: keepSessions ? 'nowhere' : 'everywhere' });
  if (!result) throw notFound('user');
  return result;
}

export async function signOutUser(ctx: AdminContext, userId: string): Promise<LifecycleResult> {
  const result = await signOutEverywhere(lifecycleDeps(ctx), userId);
  if (!result) throw notFound('user');
  return result;
}

/** Removes every second factor of the user (the two-factor part wires the remover); records admin.second_factors_removed. */
export async function removeSecondFactors(ctx: AdminContext, userId: string): Promise<{ available: boolean; removed: number }> {
  const user = await findUser(ctx, userId);
  const available = ctx.secondFactors !== undefined;
  const removed = available ? await ctx.secondFactors!.removeAll(userId, ctx.now) : 0;
  await recordAdminEvent(ctx, { type: 'admin.second_factors_removed', userId, username: user.username, details: { available, removed } });
  return { available, removed };
}

/** A browser session as the admin API shows it: its public sid, never the cookie's digest. */
export interface SessionView {
  sid: string;
  auth_time: number;
  created_at: number;
  expires_at: number;
}

const sessionView = (s: Session): SessionView => ({ sid: s.sid, auth_time: s.authTime, created_at: s.createdAt, expires_at: s.expiresAt });

export async function listSessions(ctx: AdminContext, userId: string): Promise<SessionView[]> {
  await findUser(ctx, userId);
  return (await ctx.storage.sessions.listOf(userId)).filter((s) => s.expiresAt > ctx.now).map(sessionView);
}

/** Ends one session of a user and revokes what was issued in it (its families and access tokens); records admin.session_ended. */
export async function endSession(ctx: AdminContext, userId: string, sid: string): Promise<{ families: number; accessTokens: number }> {
  const user = await findUser(ctx, userId);
  const revoked = await atomically(ctx.storage, async (tx) => {
    const session = (await tx.sessions.listOf(userId)).find((s) => s.sid === sid);
    if (!session) return undefined;
    await tx.sessions.delete(session.idHash);
    return revokeSelected(tx, { userId, sid }, ctx.now);
  });
  if (!revoked) throw notFound('session');
  await recordAdminEvent(ctx, {
    type: 'admin.session_ended',
    userId,
    username: user.username,
    details: { sid, families: revoked.families, access_tokens: revoked.accessTokens },
  });
  return { families: revoked.families, accessTokens: revoked.accessTokens };
}

export interface GrantListItem {
  client_id: string;
  client_name: string | null;
  scope: string;
  created_at: number;
  updated_at: number;
}

export async function listUserGrants(ctx: AdminContext, userId: string): Promise<GrantListItem[]> {
  await findUser(ctx, userId);
  return (await listGrants(ctx.storage, userId)).map((g: GrantView) => ({
    client_id: g.clientId,
    client_name: g.clientName,
    scope: g.scopes.join(' '),
    created_at: g.createdAt,
    updated_at: g.updatedAt,
  }));
}

/** Revokes the user's grant to one client (records grant.revoked). */
export async function revokeUserGrant(ctx: AdminContext, userId: string, clientId: string): Promise<LifecycleResult> {
  await findUser(ctx, userId);
  const grants = await ctx.storage.grants.listOf(userId, clientId);
  if (grants.length === 0 && !(await ctx.storage.clients.find(clientId))) throw notFound('grant');
  const result = await revokeGrant(lifecycleDeps(ctx), userId, clientId);
  if (!result) throw notFound('user');
  return result;
}

// The ops dashboard: log in with a token (a session cookie from then on),
// then the overview, the runs list and each run's page. Text only ever goes
// into the DOM as text (Preact escapes it); no inline script or style (CSP).
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, can, setCsrf, whenUnauthorized, type Me } from './api';
import { DeadLettersPage } from './dead-letters-page';
import { NewRunPage } from './new-run-page';
import { OverviewPage } from './overview-page';
import { Link, navigate, usePath } from './router';
import { RunPage } from './run-page';
import { RunsPage } from './runs-page';

function Login(p: { onIn: (me: Me) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  return (
    <main id="login-view">
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setError('');
          try {
            const me = await api<Me>('/login', { method: 'POST', body: { token } });
            setToken('');
            p.onIn(me);
          } catch (err) {
            setError(`Login failed: ${(err as Error).message}`);
          }
        }}
      >
        <h1>RayVault ops</h1>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
        <button type="submit">Log in</button>
        <p class="error" role="alert">
          {error}
        </p>
      </form>
    </main>
  );
}
function Header(p: { me: Me; onLogout: () => void }) {
  return (
    <header>
      <h1>RayVault</h1>
      <nav aria-label="Main">
        <Link href="/">Overview</Link> <Link href="/runs">Runs</Link> <Link href="/dead-letters">Dead letters</Link>{' '}
        {can(p.me, 'operator') && <Link href="/new">New run</Link>}
      </nav>
      <span id="who">
        {p.me.name} ({p.me.role})
      </span>
      {p.me.role === 'admin' && <a href="/admin/queues">Bull Board</a>}
      <button type="button" onClick={p.onLogout}>
        Log out
      </button>
    </header>
  );
}

/** The page the path names; `/new` only for operators. */
function Page(p: { path: string; me: Me; flash: (m: string) => void }) {
  const [pathname, query = ''] = p.path.split('?');
  const runId = /^\/runs\/([^/]+)$/.exec(pathname)?.[1];
  const { me, flash } = p;
  return pathname === '/' ? (
    <OverviewPage me={me} flash={flash} />
  ) : pathname === '/runs' ? (
    <RunsPage query={query} />
  ) : pathname === '/dead-letters' ? (
    <DeadLettersPage me={me} flash={flash} />
  ) : pathname === '/new' && can(me, 'operator') ? (
    <NewRunPage flash={flash} />
  ) : runId ? (
    <RunPage key={runId} id={runId} me={me} flash={flash} />
  ) : (
    <p>
      No such page. <Link href="/">Back to the overview</Link>
    </p>
  );
}

function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [flash, setFlash] = useState('');
  const path = usePath();
  useEffect(() => {
    whenUnauthorized(() => setMe(null));
    api<{ me: Me | null }>('/api/session').then(
      ({ me: m }) => {
        setCsrf(m?.csrf ?? null);
        setMe(m);
      },
      () => setMe(null),
    );
  }, []);
  if (me === undefined) return <p>Loading...</p>;
  if (me === null)
    return (
      <Login
        onIn={(m) => {
          setCsrf(m.csrf);
          setMe(m);
        }}
      />
    );
  const logout = async () => {
    await api('/logout', { method: 'POST' }).catch(() => undefined);
    setCsrf(null);
    setMe(null);
    navigate('/');
  };
  return (
    <>
      <Header me={me} onLogout={logout} />
      <p id="flash" role="status">
        {flash}
      </p>
      <main id="app-view">
        <Page path={path} me={me} flash={setFlash} />
      </main>
    </>
  );
}

render(<App />, document.getElementById('root')!);

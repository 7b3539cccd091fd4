import { lazy, Suspense, useEffect } from 'react';
import { Link, Route, Switch, useLocation } from 'wouter';
import { ModeBadge } from '../features/account/ModeBadge';
import { useMe, useSignOut } from '../features/auth/api';
import { OtpPrompt } from '../features/auth/OtpPrompt';
import { refreshSession } from '../lib/auth/session';
import { getAuthState, mayHaveSession, setToken, useAuthState } from '../lib/auth/token';
import { setPrefs, usePrefs } from '../lib/prefs';

// Each page is its own chunk, loaded when first visited.
const SignInPage = lazy(() => import('../pages/SignInPage'));
const DashboardPage = lazy(() => import('../pages/DashboardPage'));
const TradePage = lazy(() => import('../pages/TradePage'));
const OrdersPage = lazy(() => import('../pages/OrdersPage'));
const JournalPage = lazy(() => import('../pages/JournalPage'));
const AccountPage = lazy(() => import('../pages/AccountPage'));

const NAV = [
  ['/', 'Dashboard'],
  ['/trade', 'Trade'],
  ['/orders', 'Orders'],
  ['/journal', 'Journal'],
  ['/account', 'Account'],
] as const;

function Header() {
  const [location] = useLocation();
  const me = useMe();
  const signOut = useSignOut();
  const prefs = usePrefs();
  const dark = prefs.theme === 'dark' || (prefs.theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  return (
    <header className="top">
      <a href="#main" className="skip">Skip to content</a>
      <span className="brand">Tradebot</span>
      <nav aria-label="Main">
        {NAV.map(([href, label]) => (
          <Link key={href} href={href} aria-current={location === href ? 'page' : undefined}>{label}</Link>
        ))}
      </nav>
      <span className="spacer" />
      <button type="button" className="icon" onClick={() => setPrefs({ theme: dark ? 'light' : 'dark' })}
        aria-label={dark ? 'Switch to light theme' : 'Switch to dark theme'}>{dark ? '☀' : '☾'}</button>
      <span className="muted who">{me.data?.email}</span>
      <button type="button" onClick={() => void signOut()}>Sign out</button>
    </header>
  );
}

const Loading = () => <p className="page muted" aria-busy="true">Loading…</p>;

export function App() {
  const auth = useAuthState();
  // A reload starts without a token: the refresh cookie, if any, signs the user back in (a
  // browser that was never signed in goes straight to the sign-in page).
  useEffect(() => {
    if (getAuthState().status !== 'restoring') return;
    if (mayHaveSession()) void refreshSession();
    else setToken(null);
  }, []);
  if (auth.status === 'restoring') return <Loading />;
  if (auth.status === 'signed-out') {
    return (
      <Suspense fallback={<Loading />}>
        <SignInPage />
      </Suspense>
    );
  }
  return (
    <>
      <ModeBadge />
      <Header />
      <OtpPrompt />
      <Suspense fallback={<Loading />}>
        <Switch>
          <Route path="/" component={DashboardPage} />
          <Route path="/trade" component={TradePage} />
          <Route path="/orders" component={OrdersPage} />
          <Route path="/journal" component={JournalPage} />
          <Route path="/account" component={AccountPage} />
          <Route>
            <main id="main" className="page"><h1>Not found</h1><Link href="/">Back to the dashboard</Link></main>
          </Route>
        </Switch>
      </Suspense>
    </>
  );
}

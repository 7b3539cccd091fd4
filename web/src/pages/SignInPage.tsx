import { SignInForm } from '../features/auth/SignInForm';

export default function SignInPage() {
  return (
    <main className="center" id="main">
      <SignInForm />
    </main>
  );
}

from cyclopts import App

app = App(name="auth")

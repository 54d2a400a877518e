from cyclopts import App

app = App(name="project")

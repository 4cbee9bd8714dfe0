; DynoAI Desktop: the Windows installer (Inno Setup 6.3 or later).
;
; Built on Windows only (see README.md beside this file):
;   python installer\build.py                      the PyInstaller bundle, installer\build\dist\dynoai
;   ISCC installer\windows\dynoai.iss /DAppVersion=0.1.0
; The setup program lands in installer\build\installer\DynoAI-Desktop-<version>-setup.exe.
; On Linux, `python installer/windows/check_iss.py installer/windows/dynoai.iss` checks this
; script's syntax and the files it names; it is not the Inno Setup compiler.
;
; What it installs, per machine (administrator rights):
; - the bundle in C:\Program Files\DynoAI Desktop: dynoai.exe (console: the command line,
;   `dynoai convert ...`) and dynoaiw.exe (the same app windowed: what shortcuts and file
;   associations start, so no console window opens), with _internal\ (Python, Qt, resources);
; - Start-menu shortcuts, an optional desktop icon, optional .pvv/.msq associations;
; - the shop's data folder C:\ProgramData\DynoAI (catalog, runs, tunes, models) that every user
;   of the PC may write, named by the machine-wide variable DYNOAI_DATA_DIR. Settings stay per
;   user in %LOCALAPPDATA%\DynoAI\DynoAI Desktop (the app's own choice).
;
; Upgrades: the same AppId makes a newer setup replace the program files in place (same folder,
; same tasks); the data folder and the settings are outside {app}, so they are never touched.
; Uninstall removes the program, the shortcuts, the associations and the variable, and keeps the
; data folder (uninsneveruninstall) and every user's settings.

; ------------------------------------------------------------------ names (ISCC /DName=value)
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef BundleDir
  ; The PyInstaller onedir output (installer\build\dist\dynoai), relative to this script.
  #define BundleDir "..\build\dist\dynoai"
#endif
#define AppName "DynoAI Desktop"
; The windowed build. Not "DynoAI.exe": Windows folders ignore case, so DynoAI.exe and the
; console build dynoai.exe would be one file (check_iss.py reports names that differ only in case).
#define GuiExe "dynoaiw.exe"
#define PvvProgId "DynoAI.PowerVisionTune"
#define MsqProgId "DynoAI.TunerStudioTune"
#define DataDirEnv "DYNOAI_DATA_DIR"
#define EnvKey "SYSTEM\CurrentControlSet\Control\Session Manager\Environment"

[Setup]
; Never change the AppId: it is how a newer setup finds and upgrades this installation.
; ({{ is Inno's escape for a literal brace.)
AppId={{F88DEB78-B761-4FF5-A7F5-CA13F5A0BE96}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=DynoAI
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
; Per machine: Program Files, HKLM, the machine-wide variable and ProgramData need admin.
PrivilegesRequired=admin
; A 64-bit Python and Qt: x64 Windows (and Arm64 Windows 11, which runs x64 programs).
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Qt 6 needs Windows 10 1809 (build 17763) or later.
MinVersion=10.0.17763
; Refresh Explorer's file types and environment when done, so the associations and
; DYNOAI_DATA_DIR apply to programs started from the Start menu at once.
ChangesAssociations=yes
ChangesEnvironment=yes
; Offer to close a running DynoAI before its files are replaced (upgrade, uninstall).
CloseApplications=yes
OutputDir=..\build\installer
OutputBaseFilename=DynoAI-Desktop-{#AppVersion}-setup
Compression=lzma2
SolidCompression=yes
SetupIconFile=..\icons\dynoai.ico
UninstallDisplayIcon={app}\dynoai.ico
UninstallDisplayName={#AppName}
WizardStyle=modern

[Messages]
; The uninstaller says plainly that the shop's data stays (%1 is the app's name, %n a new line).
ConfirmUninstall=Remove %1 from this computer?%n%nThe shop's data (runs, catalog, tunes and models in the DynoAI data folder, normally C:\ProgramData\DynoAI) and each user's settings are kept. Delete that folder yourself if you no longer need it.
UninstalledAll=%1 was removed from this computer.%n%nThe shop's data folder (normally C:\ProgramData\DynoAI) was kept.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
; Checked by default. Where another program already opens the type (TunerStudio for .msq),
; DynoAI is added to "Open with" and the other program stays the default.
Name: "assocpvv"; Description: "Power Vision tunes (.pvv)"; GroupDescription: "Open tune files with {#AppName}:"
Name: "assocmsq"; Description: "TunerStudio tunes (.msq)"; GroupDescription: "Open tune files with {#AppName}:"

[InstallDelete]
; On an upgrade, clear the previous bundle's internals first, so no module or Qt plugin of the
; old version is left beside the new one. Only program files: the data lives outside {app}.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#BundleDir}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The icon the shortcuts, the associations and Apps & features show.
Source: "..\icons\dynoai.ico"; DestDir: "{app}"; Flags: ignoreversion

[Dirs]
; The shop's data folder: every user of the PC may write (users-modify); never removed by the
; uninstaller, so runs, catalog and tunes survive an uninstall and a reinstall.
Name: "{commonappdata}\DynoAI"; Permissions: users-modify; Flags: uninsneveruninstall

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\{#GuiExe}"; WorkingDir: "{app}"; IconFilename: "{app}\dynoai.ico"; Comment: "Dyno cell logging, run review and tune tables"
Name: "{group}\{#AppName} (demo cell)"; Filename: "{app}\{#GuiExe}"; Parameters: "--demo"; WorkingDir: "{app}"; IconFilename: "{app}\dynoai.ico"; Comment: "The app on the virtual dyno cell: try it without a dyno"
Name: "{group}\Uninstall {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#GuiExe}"; WorkingDir: "{app}"; IconFilename: "{app}\dynoai.ico"; Tasks: desktopicon

[Registry]
; The per-machine data folder: DYNOAI_DATA_DIR for every user. A value the shop set itself
; (another folder, a network share) is kept on install and upgrade; uninstall removes it.
Root: HKLM; Subkey: "{#EnvKey}"; ValueType: string; ValueName: "{#DataDirEnv}"; ValueData: "{commonappdata}\DynoAI"; Flags: createvalueifdoesntexist uninsdeletevalue

; "Open with" knows the windowed build by name.
Root: HKLM; Subkey: "Software\Classes\Applications\{#GuiExe}"; ValueType: string; ValueName: "FriendlyAppName"; ValueData: "{#AppName}"; Flags: uninsdeletekey
Root: HKLM; Subkey: "Software\Classes\Applications\{#GuiExe}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1"""
Root: HKLM; Subkey: "Software\Classes\Applications\{#GuiExe}\SupportedTypes"; ValueType: string; ValueName: ".pvv"; ValueData: ""
Root: HKLM; Subkey: "Software\Classes\Applications\{#GuiExe}\SupportedTypes"; ValueType: string; ValueName: ".msq"; ValueData: ""

; .pvv (Power Vision tune): `dynoaiw.exe FILE` opens it in the table editor.
; The extension's default names our ProgID only where no program had it; [Code] below removes
; that default at uninstall only if it still names ours. The ProgID key is ours: deleted whole.
Root: HKLM; Subkey: "Software\Classes\.pvv"; ValueType: string; ValueName: ""; ValueData: "{#PvvProgId}"; Flags: createvalueifdoesntexist uninsdeletekeyifempty; Tasks: assocpvv
Root: HKLM; Subkey: "Software\Classes\.pvv\OpenWithProgids"; ValueType: string; ValueName: "{#PvvProgId}"; ValueData: ""; Flags: uninsdeletevalue uninsdeletekeyifempty; Tasks: assocpvv
Root: HKLM; Subkey: "Software\Classes\{#PvvProgId}"; ValueType: string; ValueName: ""; ValueData: "Power Vision tune"; Flags: uninsdeletekey; Tasks: assocpvv
Root: HKLM; Subkey: "Software\Classes\{#PvvProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\dynoai.ico"; Tasks: assocpvv
Root: HKLM; Subkey: "Software\Classes\{#PvvProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1"""; Tasks: assocpvv

; .msq (TunerStudio tune): the same, with its own ProgID.
Root: HKLM; Subkey: "Software\Classes\.msq"; ValueType: string; ValueName: ""; ValueData: "{#MsqProgId}"; Flags: createvalueifdoesntexist uninsdeletekeyifempty; Tasks: assocmsq
Root: HKLM; Subkey: "Software\Classes\.msq\OpenWithProgids"; ValueType: string; ValueName: "{#MsqProgId}"; ValueData: ""; Flags: uninsdeletevalue uninsdeletekeyifempty; Tasks: assocmsq
Root: HKLM; Subkey: "Software\Classes\{#MsqProgId}"; ValueType: string; ValueName: ""; ValueData: "TunerStudio tune"; Flags: uninsdeletekey; Tasks: assocmsq
Root: HKLM; Subkey: "Software\Classes\{#MsqProgId}\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\dynoai.ico"; Tasks: assocmsq
Root: HKLM; Subkey: "Software\Classes\{#MsqProgId}\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#GuiExe}"" ""%1"""; Tasks: assocmsq

[Run]
; "Launch DynoAI Desktop" on the last page. The setup's own environment predates the new
; DYNOAI_DATA_DIR; the app reads the machine-wide value from the registry when its environment
; has none (storage/machine_env.py), so this first start uses the shop's folder too.
Filename: "{app}\{#GuiExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: postinstall skipifsilent nowait

[Code]
{ At uninstall, remove an extension's default value only if it still names our ProgID: another
  program may have taken the extension since, and its association must stay. }
procedure RemoveDefaultIfOurs(const Extension, ProgId: String);
var
  Current: String;
begin
  if RegQueryStringValue(HKLM, 'Software\Classes\' + Extension, '', Current)
    and (CompareText(Current, ProgId) = 0) then
    RegDeleteValue(HKLM, 'Software\Classes\' + Extension, '');
end;

procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  { usUninstall runs before the [Registry] entries are undone, so uninsdeletekeyifempty then
    removes an extension key left empty. }
  if CurUninstallStep = usUninstall then
  begin
    RemoveDefaultIfOurs('.pvv', '{#PvvProgId}');
    RemoveDefaultIfOurs('.msq', '{#MsqProgId}');
  end;
end;

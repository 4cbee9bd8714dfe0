"""The Inno Setup 6 vocabulary check_iss.py checks against: sections, [Setup] directives, each
entry section's parameters, required parameters and flags, constants, ISPP directives.

Taken from Inno Setup's own source (github.com/jrsoftware/issrc: Shared.SetupSectionDirectives.pas
for the directives, IDE.ScintStylerInnoSetup.pas for sections, parameters, flags and constants,
the help's "(Required)" marks for required parameters). An older or newer ISCC may know a few
names more or fewer; extend these tables from the help when a real script needs one.
"""

from __future__ import annotations

# Section names (ISCC compares them case-insensitively). [Code] holds Pascal, not entries.
KEY_VALUE_SECTIONS = frozenset({"Setup", "LangOptions", "Messages", "CustomMessages"})
ENTRY_SECTIONS = frozenset({
    "Components", "Dirs", "Files", "Icons", "INI", "InstallDelete", "Languages", "Registry",
    "Run", "Tasks", "Types", "UninstallDelete", "UninstallRun",
})
SECTIONS = KEY_VALUE_SECTIONS | ENTRY_SECTIONS | {"Code"}

SETUP_DIRECTIVES = frozenset("""
AllowCancelDuringInstall AllowNetworkDrive AllowNoIcons AllowRootDirectory AllowUNCPath
AlwaysRestart AlwaysShowComponentsList AlwaysShowDirOnReadyPage AlwaysShowGroupOnReadyPage
AlwaysUsePersonalGroup AppCopyright AppendDefaultDirName AppendDefaultGroupName AppComments
AppContact AppId AppModifyPath AppMutex AppName AppPublisher AppPublisherURL AppReadmeFile
AppSupportPhone AppSupportURL AppUpdatesURL AppVerName AppVersion ArchitecturesAllowed
ArchitecturesInstallIn64BitMode ArchiveExtraction ASLRCompatible BackColor BackColor2
BackColorDirection BackSolid ChangesAssociations ChangesEnvironment CloseApplications
CloseApplicationsFilter CloseApplicationsFilterExcludes Compression CompressionThreads
CreateAppDir CreateUninstallRegKey DefaultDialogFontName DefaultDirName DefaultGroupName
DefaultUserInfoName DefaultUserInfoOrg DefaultUserInfoSerial DEPCompatible DirExistsWarning
DisableDirPage DisableFinishedPage DisablePrecompiledFileVerifications DisableProgramGroupPage
DisableReadyMemo DisableReadyPage DisableStartupPrompt DisableWelcomePage DiskClusterSize
DiskSliceSize DiskSpanning DontMergeDuplicateFiles EnableDirDoesntExistWarning Encryption
EncryptionKeyDerivation ExtraDiskSpaceRequired FlatComponentsList InfoAfterFile InfoBeforeFile
InternalCompressLevel LanguageDetectionMethod LicenseFile LZMAAlgorithm LZMABlockSize
LZMADictionarySize LZMAMatchFinder LZMANumBlockThreads LZMANumFastBytes LZMAUseSeparateProcess
MergeDuplicateFiles MessagesFile MinVersion MissingMessagesWarning MissingRunOnceIdsWarning
NotRecognizedMessagesWarning OnlyBelowVersion Output OutputBaseFilename OutputDir
OutputManifestFile Password PrivilegesRequired PrivilegesRequiredOverridesAllowed ReserveBytes
RestartApplications RestartIfNeededByRun SetupIconFile SetupLogging SetupMutex
ShowComponentSizes ShowLanguageDialog ShowTasksTreeLines ShowUndisplayableLanguages
SignedUninstaller SignedUninstallerDir SignTool SignToolMinimumTimeBetween SignToolRetryCount
SignToolRetryDelay SignToolRunMinimized SlicesPerDisk SolidCompression SourceDir
TerminalServicesAware TimeStampRounding TimeStampsInUTC TouchDate TouchTime
UpdateUninstallLogAppName Uninstallable UninstallDisplayIcon UninstallDisplayName
UninstallDisplaySize UninstallFilesDir UninstallIconFile UninstallLogging UninstallLogMode
UninstallRestartComputer UninstallStyle UsedUserAreasWarning UsePreviousAppDir
UsePreviousGroup UsePreviousLanguage UsePreviousPrivileges UsePreviousSetupType
UsePreviousTasks UsePreviousUserInfo UseSetupLdr UserInfoPage VersionInfoCompany
VersionInfoCopyright VersionInfoDescription VersionInfoOriginalFileName VersionInfoProductName
VersionInfoProductVersion VersionInfoProductTextVersion VersionInfoTextVersion
VersionInfoVersion WindowResizable WindowShowCaption WindowStartMaximized WindowVisible
WizardBackColor WizardImageAlphaFormat WizardImageBackColor WizardImageFile
WizardImageStretch WizardKeepAspectRatio WizardResizable WizardSmallImageBackColor
WizardSmallImageFile WizardSizePercent WizardStyle
""".split())

# Directives that name a file of the build machine, relative to the script (or SourceDir).
SETUP_FILE_DIRECTIVES = frozenset({
    "SetupIconFile", "LicenseFile", "InfoBeforeFile", "InfoAfterFile", "WizardImageFile",
    "WizardSmallImageFile",
})
YES_NO = frozenset({"yes", "no", "true", "false", "1", "0"})
YES_NO_DIRECTIVES = frozenset({
    "ChangesAssociations", "ChangesEnvironment", "CloseApplications", "SolidCompression",
    "CreateAppDir", "CreateUninstallRegKey", "Uninstallable", "UsePreviousAppDir",
    "UsePreviousTasks", "UsePreviousGroup", "AllowNoIcons", "SetupLogging", "AlwaysRestart",
})
PRIVILEGES = frozenset({"admin", "lowest", "poweruser", "none"})

# The [Setup] directives a script must have; AppVersion may be replaced by AppVerName.
SETUP_REQUIRED = ("AppName", "DefaultDirName")

COMMON_PARAMETERS = ("Languages", "MinVersion", "OnlyBelowVersion")
COMPONENT_TASK_PARAMETERS = ("Components", "Tasks", "Check", "BeforeInstall", "AfterInstall")


def _params(*names: str, common: bool = True, component_task: bool = True) -> frozenset[str]:
    extra = (COMMON_PARAMETERS if common else ()) + (
        COMPONENT_TASK_PARAMETERS if component_task else ())
    return frozenset(names + extra)


# section -> (known parameters, required parameters, known flags)
ENTRY_PARAMETERS: dict[str, tuple[frozenset[str], tuple[str, ...], frozenset[str]]] = {
    "Files": (
        _params("Source", "DestDir", "DestName", "Excludes", "ExternalSize", "CopyMode",
                "Attribs", "Permissions", "FontInstall", "StrongAssemblyName", "Flags"),
        ("Source", "DestDir"),
        frozenset("""32bit 64bit allowunsafefiles comparetimestamp confirmoverwrite
            createallsubdirs deleteafterinstall dontcopy dontverifychecksum external
            fontisnttruetype gacinstall ignoreversion isreadme nocompression noencryption
            noregerror onlyifdestfileexists onlyifdoesntexist overwritereadonly promptifolder
            recursesubdirs regserver regtypelib replacesameversion restartreplace
            setntfscompression sharedfile sign signcheck signonce skipifsourcedoesntexist
            solidbreak sortfilesbyextension sortfilesbyname touch uninsnosharedfileprompt
            uninsremovereadonly uninsrestartdelete uninsneveruninstall
            unsetntfscompression""".split()),
    ),
    "Icons": (
        _params("Name", "Filename", "Parameters", "WorkingDir", "HotKey", "Comment",
                "IconFilename", "IconIndex", "AppUserModelID",
                "AppUserModelToastActivatorCLSID", "Flags"),
        ("Name", "Filename"),
        frozenset("""closeonexit createonlyiffileexists dontcloseonexit
            excludefromshowinnewinstall foldershortcut preventpinning runmaximized
            runminimized uninsneveruninstall useapppaths""".split()),
    ),
    "Registry": (
        _params("Root", "Subkey", "ValueType", "ValueName", "ValueData", "Permissions",
                "Flags"),
        ("Root", "Subkey"),
        frozenset("""createvalueifdoesntexist deletekey deletevalue dontcreatekey noerror
            preservestringtype uninsclearvalue uninsdeletekey uninsdeletekeyifempty
            uninsdeletevalue""".split()),
    ),
    "Tasks": (
        _params("Name", "Description", "GroupDescription", "Components", "Check", "Flags",
                component_task=False),
        ("Name", "Description"),
        frozenset("checkablealone checkedonce dontinheritcheck exclusive restart unchecked"
                  .split()),
    ),
    "Run": (
        _params("Filename", "Description", "Parameters", "WorkingDir", "StatusMsg", "Verb",
                "Flags"),
        ("Filename",),
        frozenset("""32bit 64bit dontlogparameters hidewizard logoutput nowait postinstall
            runascurrentuser runasoriginaluser runhidden runmaximized runminimized shellexec
            skipifdoesntexist skipifnotsilent skipifsilent unchecked waituntilidle
            waituntilterminated""".split()),
    ),
    "UninstallRun": (
        _params("Filename", "Parameters", "WorkingDir", "RunOnceId", "Verb", "Flags"),
        ("Filename",),
        frozenset("""32bit 64bit dontlogparameters hidewizard logoutput nowait
            runascurrentuser runhidden runmaximized runminimized shellexec skipifdoesntexist
            waituntilidle waituntilterminated""".split()),
    ),
    "Dirs": (
        _params("Name", "Attribs", "Permissions", "Flags"),
        ("Name",),
        frozenset("""deleteafterinstall setntfscompression uninsalwaysuninstall
            uninsneveruninstall unsetntfscompression""".split()),
    ),
    "InstallDelete": (_params("Type", "Name"), ("Type", "Name"), frozenset()),
    "UninstallDelete": (_params("Type", "Name"), ("Type", "Name"), frozenset()),
    "INI": (
        _params("Filename", "Section", "Key", "String", "Flags"),
        ("Filename", "Section"),
        frozenset("createkeyifdoesntexist uninsdeleteentry uninsdeletesection "
                  "uninsdeletesectionifempty".split()),
    ),
    "Components": (
        _params("Name", "Description", "Types", "ExtraDiskSpaceRequired", "Check", "Flags",
                component_task=False),
        ("Name", "Description"),
        frozenset("checkablealone disablenouninstallwarning dontinheritcheck exclusive fixed "
                  "restart".split()),
    ),
    "Types": (
        _params("Name", "Description", "Check", "Flags", component_task=False),
        ("Name", "Description"),
        frozenset({"iscustom"}),
    ),
    "Languages": (
        frozenset({"Name", "MessagesFile", "LicenseFile", "InfoBeforeFile", "InfoAfterFile"}),
        ("Name", "MessagesFile"),
        frozenset(),
    ),
}

DELETE_TYPES = frozenset({"files", "filesandordirs", "dirifempty"})
REGISTRY_ROOTS = frozenset(
    root + suffix for root in ("HKCR", "HKCU", "HKLM", "HKU", "HKCC", "HKA")
    for suffix in ("", "32", "64")
)
VALUE_TYPES = frozenset({"none", "string", "expandsz", "multisz", "dword", "qword", "binary"})
# Permissions: "<group>-<access>", e.g. users-modify ([Registry] uses read, not readexec).
PERMISSION_GROUPS = frozenset({
    "admins", "authusers", "creatorowner", "everyone", "iisiusrs", "localservice",
    "networkservice", "powerusers", "service", "system", "users", "appcontainers",
})
PERMISSION_ACCESS = {
    "Dirs": frozenset({"full", "modify", "readexec"}),
    "Files": frozenset({"full", "modify", "readexec"}),
    "Registry": frozenset({"full", "modify", "read"}),
}

CONSTANTS = frozenset("""
app win sys sysnative syswow64 src sd commonpf commonpf32 commonpf64 commoncf commoncf32
commoncf64 pf pf32 pf64 cf cf32 cf64 tmp commonfonts fonts dao dotnet11 dotnet20 dotnet2032
dotnet2064 dotnet40 dotnet4032 dotnet4064 group localappdata userappdata commonappdata usercf
userdesktop commondesktop userdocs commondocs userfavorites userfonts userpf userprograms
commonprograms usersavedgames userstartmenu commonstartmenu userstartup commonstartup
usertemplates commontemplates autoappdata autocf autocf32 autocf64 autodesktop autodocs
autofonts autopf autopf32 autopf64 autoprograms autostartmenu autostartup autotemplates cmd
computername groupname hwnd wizardhwnd language srcexe uninstallexe sysuserinfoname
sysuserinfoorg userinfoname userinfoorg userinfoserial username log
""".split()) | {"\\"}
# {name:argument...}: {cm:Msg,arg}, {code:Func|default}, {reg:HKxx\Key,Value|default}, ...
CONSTANTS_WITH_ARGUMENT = frozenset({"cm", "code", "drive", "ini", "param", "reg"})
# The custom messages Inno's Default.isl defines (for {cm:Name}), besides a script's own.
DEFAULT_CUSTOM_MESSAGES = frozenset({
    "NameAndVersion", "AdditionalIcons", "CreateDesktopIcon", "CreateQuickLaunchIcon",
    "ProgramOnTheWeb", "UninstallProgram", "LaunchProgram", "AssocFileExtension",
    "AssocingFileExtension", "AutoStartProgramGroupDescription", "AutoStartProgram",
    "AddonHostProgramNotFound",
})
# [Messages] names this checker knows (Default.isl has ~300; the uninstall and finish ones here).
MESSAGES = frozenset({
    "SetupAppTitle", "SetupWindowTitle", "UninstallAppTitle", "UninstallAppFullTitle",
    "ConfirmUninstall", "UninstalledAll", "UninstalledMost", "UninstalledAndNeedsRestart",
    "UninstallStatusLabel", "WelcomeLabel1", "WelcomeLabel2", "FinishedHeadingLabel",
    "FinishedLabel", "FinishedLabelNoIcons", "ClickFinish", "SelectTasksLabel2",
    "ReadyLabel1", "ReadyLabel2a", "ReadyLabel2b", "WizardSelectTasks", "SelectTasksDesc",
    "SetupAlreadyRunning", "WindowsVersionNotSupported", "AdminPrivilegesRequired",
})

# ISPP directives (#name). check_iss evaluates the EVALUATED ones; the rest it names as
# beyond it rather than guessing.
ISPP_DIRECTIVES = frozenset("""
preproc define dim redim undef include file emit expr insert append if elif else endif ifdef
ifndef ifexist ifnexist for sub endsub pragma error
""".split())
ISPP_EVALUATED = frozenset({"define", "undef", "ifdef", "ifndef", "else", "endif", "error",
                            "pragma"})
